"""What the analysis report reads from the notifier (its shapes: app/reports/providers.py).

Every figure is a GROUP BY or COUNT over the outbox, whatever the number of subscribers.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from app.extensions import db
from app.incidents.models import Incident
from app.notify import statuses
from app.notify.kinds import NoticeKind
from app.notify.statuses import OutboxStatus
from app.notify.models import Notice, SatisfactionScore
from app.policy import current_policy
from app.subscribers.affected import affected_subscriber_ids
from app.subscribers.models import Subscriber

# A notice ended by an opt-out: the carrier's "unsubscribed recipient", or the sender's skip of
# a subscriber who opted out after the notice was queued (app.notify.sender).
OPTED_OUT_CODES = ("21610", "opted_out")


def _suppressed(incident: Incident, kind: str) -> int:
    """Subscribers in scope, opted out, to whom no notice of ``kind`` was ever queued.

    Not "everyone opted out now": someone who sent 退订 after a notice reached them, or whom the
    carrier opted out (21610) on that notice, has a row of that kind and is counted there.
    """
    ids = affected_subscriber_ids(incident.services, incident.regions, current_policy()).subquery()
    queued = select(Notice.id).where(Notice.incident_id == incident.id, Notice.kind == kind,
                                     Notice.subscriber_id == Subscriber.id)
    return db.session.scalar(
        select(func.count()).select_from(Subscriber).join(ids, ids.c.id == Subscriber.id)
        .where(Subscriber.opted_out_at.is_not(None), ~queued.exists())
    ) or 0


def notice_counts(incident: Incident) -> list[dict]:
    rows = db.session.execute(
        select(Notice.kind, Notice.status, Notice.error_code, func.count())
        .where(Notice.incident_id == incident.id)
        .group_by(Notice.kind, Notice.status, Notice.error_code)
    ).all()
    if not rows:
        return []
    mandatory = set(current_policy().data["notices"]["mandatory_kinds"])
    by_kind: dict[str, dict] = {}
    for kind, status, error_code, count in rows:
        entry = by_kind.get(kind)
        if entry is None:
            entry = by_kind[kind] = {"kind": kind, "sent": 0, "delivered": 0, "failed": 0,
                                     "opted_out": 0 if kind in mandatory else _suppressed(incident, kind)}
        if status in statuses.ACCEPTED_BY_PROVIDER:
            entry["sent"] += count
        if status == OutboxStatus.delivered:
            entry["delivered"] += count
        if status in (OutboxStatus.failed, OutboxStatus.undelivered):
            entry["failed"] += count
        if error_code in OPTED_OUT_CODES:
            entry["opted_out"] += count
    order = {kind: index for index, kind in enumerate(NoticeKind)}
    return sorted(by_kind.values(), key=lambda entry: order.get(entry["kind"], 99))


def _minute(column):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("minute", column)
    return func.strftime("%Y-%m-%d %H:%M:00", column)


def notice_delivery_series(incident: Incident) -> list[dict]:
    """Deliveries per minute (the delivered callback's time), for the delivery curve."""
    bucket = _minute(Notice.updated_at).label("minute")
    rows = db.session.execute(
        select(Notice.kind, bucket, func.count())
        .where(Notice.incident_id == incident.id, Notice.status == OutboxStatus.delivered, Notice.updated_at.is_not(None))
        .group_by(Notice.kind, bucket).order_by(bucket)
    ).all()
    return [{"kind": kind, "minute": _as_utc(minute), "delivered": count} for kind, minute, count in rows]


def _as_utc(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def satisfaction(incident: Incident) -> dict | None:
    surveyed = db.session.scalar(
        select(func.count()).where(Notice.incident_id == incident.id, Notice.kind == NoticeKind.survey,
                                   Notice.status.in_(statuses.ACCEPTED_BY_PROVIDER))
    ) or 0
    distribution = dict(db.session.execute(
        select(SatisfactionScore.score, func.count()).where(SatisfactionScore.incident_id == incident.id)
        .group_by(SatisfactionScore.score)
    ).all())
    if not surveyed and not distribution:
        return None
    replies = sum(distribution.values())
    average = round(sum(score * n for score, n in distribution.items()) / replies, 2) if replies else None
    return {"surveyed": surveyed, "replies": replies, "average": average,
            "distribution": {int(score): n for score, n in sorted(distribution.items())}}
