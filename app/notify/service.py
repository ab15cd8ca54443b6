"""Operator-facing notice work: queue a notice by hand, preview a text, report progress."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, func, select

from app.clock import ensure_aware_utc, utcnow
from app.errors import InvalidInput, TransitionNotAllowed
from app.extensions import db
from app.incidents.models import Incident, Status
from app.incidents.service import get_incident
from app.notify import capacity, statuses, summary_cache
from app.notify.fulfilment import fulfil_if_nothing_pending
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, NoticeBatch
from app.notify.outbox import incident_context, queue_for_affected
from app.notify.pool import pool_identities
from app.notify.settings import current_settings
from app.notify.templates import count_segments, render
from app.policy import current_policy
from app.subscribers.models import Subscriber

RATE_WINDOW = timedelta(minutes=1)
BEFORE_RECOVERY = {Status.declared.value, Status.reported.value, Status.responding.value}


def queue_by_operator(incident_id: int, kind: str, explanation: str | None) -> dict:
    """故障通知 (when the policy leaves it manual, or to top up a grown scope) and 正式通知 (major only)."""
    incident = get_incident(incident_id, for_update=True)
    if kind == NoticeKind.outage:
        if incident.status not in BEFORE_RECOVERY:
            raise TransitionNotAllowed("notice_outage", incident.status)
        context = {}
    elif kind == NoticeKind.formal:
        if not incident.major:
            raise InvalidInput("kind", "正式通知仅用于重大服务中断 (the formal notice is for major incidents only)")
        if incident.status not in (Status.recovered.value, Status.closed.value):
            raise TransitionNotAllowed("notice_formal", incident.status)
        if not (explanation or "").strip():
            raise InvalidInput("explanation", "正式通知须包含详细说明 (the formal notice needs a detailed explanation)")
        context = {"explanation": explanation.strip()}
    else:
        raise InvalidInput("kind", "只能手动发送故障通知或正式通知 (only outage or formal notices are queued by hand)")
    queued = queue_for_affected(incident, kind, context=context)
    fulfil_if_nothing_pending(incident, kind)
    db.session.commit()
    return {"kind": kind, "sequence": 1, "queued": queued, "pool_plan": _queued_plan(incident.id, kind)}


def _queued_plan(incident_id: int, kind: str) -> dict | None:
    """The projection at queuing time of the notice just queued."""
    batch = db.session.scalar(select(NoticeBatch).where(NoticeBatch.incident_id == incident_id,
                                                        NoticeBatch.kind == kind, NoticeBatch.sequence == 1))
    if batch is None:
        return None
    pending = db.session.scalar(select(func.count()).where(
        Notice.batch_id == batch.id, Notice.status.in_(statuses.PENDING))) or 0
    return capacity.batch_plan(batch, pending, pool_identities(current_settings()), utcnow()).as_dict()


def capacity_plan(messages: int, segments: int, deadline_minutes: int | None) -> dict:
    """What-if before queuing: ``messages`` × ``segments`` due in ``deadline_minutes``."""
    now = utcnow()
    deadline = now + timedelta(minutes=deadline_minutes) if deadline_minutes else None
    return capacity.plan(messages * segments, pool_identities(current_settings()),
                         (deadline - now).total_seconds() if deadline else None,
                         capacity.backlog_segments(deadline)).as_dict()


def preview(kind: str, language: str, incident_id: int | None, context: dict, text: str | None) -> dict:
    """The rendered text and its segment count, as the console shows it before sending."""
    if text is None:
        policy = current_policy()
        base = {"number": "INC-00000000-0000", "title": "", "services": "移动数据", "regions": "杭州",
                "detected_at": "2026-11-23 08:05", "recovered_at": "2026-11-23 10:30",
                "estimated_recovery_at": "2026-11-23 12:00", "hotline": policy.data["hotline"],
                "message": "", "explanation": ""}
        if incident_id is not None:
            base.update(incident_context(get_incident(incident_id), policy))
        try:
            text = render(kind, language, {**base, **context})
        except Exception as exc:  # noqa: BLE001 - a template error is the caller's input problem here
            raise InvalidInput("context", f"模板渲染失败 (template failed to render): {exc}") from None
    count = count_segments(text)
    return {"kind": kind, "language": language, "text": text, "encoding": count.encoding,
            "characters": count.characters, "segments": count.segments, "per_segment": count.per_segment}


def notification_summary(incident: Incident) -> dict:
    """Counts by kind and status, and per notice the projected finish at the current rate vs its deadline.

    The counts come from app/notify/summary_cache.py (counted once per change, not per view); the
    rate of the last minute reads only that minute's acceptances (``ix_notices_batch_accepted``),
    and not even those once the counts have settled (nothing changed for longer than a minute)."""
    now = utcnow()
    identities = pool_identities(current_settings())
    counted = summary_cache.counts(incident.id)
    batches = db.session.scalars(select(NoticeBatch).where(NoticeBatch.incident_id == incident.id)
                                 .order_by(NoticeBatch.id)).all()
    recent = {} if counted.settled or not batches else dict(db.session.execute(
        select(Notice.batch_id, func.count()).where(Notice.batch_id.in_([b.id for b in batches]),
                                                    Notice.accepted_at >= now - RATE_WINDOW)
        .group_by(Notice.batch_id)).all())
    notices = []
    for batch in batches:
        by_status = counted.by_batch.get(batch.id, {})
        pending = sum(by_status.get(s, 0) for s in statuses.PENDING)
        rate = recent.get(batch.id, 0) / RATE_WINDOW.total_seconds()
        projected, stalled, late = _projection(batch, pending, rate, now)
        pool_plan = (capacity.batch_plan(batch, pending, identities, now).as_dict()
                     if pending and batch.deadline_at else None)
        total = sum(by_status.values())
        notices.append({
            "kind": batch.kind, "sequence": batch.sequence, "label": NoticeKind(batch.kind).label,
            "total": total, "sent": total - pending, "pending": pending, "rate_per_second": round(rate, 2),
            "deadline_at": batch.deadline_at, "projected_finish_at": projected, "stalled": stalled, "late": late,
            "fulfilled_at": batch.fulfilled_at, "policy_version": batch.policy_version, "pool_plan": pool_plan,
        })
    return {"counts": {kind: dict(by_status) for kind, by_status in counted.by_kind.items()}, "notices": notices}


def progress_marker(incident_id: int) -> str:
    """Changes as the incident's notices are queued, sent and delivered (for the live console)."""
    by_status: dict[str, int] = {}
    for kind_counts in summary_cache.counts(incident_id).by_kind.values():
        for status, n in kind_counts.items():
            by_status[status] = by_status.get(status, 0) + n
    return ",".join(f"{status}:{n}" for status, n in sorted(by_status.items()))


def _projection(batch: NoticeBatch, pending: int, rate: float, now: datetime) -> tuple[datetime | None, bool, bool]:
    """(projected finish, stalled, late) of a batch at the rate of the last minute.

    A batch queued less than a minute ago has no rate yet: no projection and not late (unless
    its deadline already passed). One queued earlier with nothing accepted in the last minute is
    stalled (the sender is down or held back), and late while it stays so."""
    if pending == 0:
        return batch.fulfilled_at or now, False, False
    if rate > 0:
        projected = now + timedelta(seconds=pending / rate)
        return projected, False, bool(batch.deadline_at and projected > batch.deadline_at)
    stalled = ensure_aware_utc(batch.queued_at) <= now - RATE_WINDOW
    overdue = bool(batch.deadline_at and now > batch.deadline_at)
    return None, stalled, bool(batch.deadline_at and (stalled or overdue))


def listed_total(counts: dict[str, dict[str, int]], kind: str | None, status: str | None) -> int:
    """How many notices ``notification_list`` holds, from the summary's counts."""
    return sum(n for k, by_status in counts.items() if kind in (None, k)
               for s, n in by_status.items() if status in (None, s))


def notification_list(incident_id: int, kind: str | None, status: str | None) -> Select:
    # Every notice of the incident, a complainant's who is no subscriber too (its own phone),
    # so that the list holds what the counts count.
    query = (select(Notice.id, Notice.kind, Notice.sequence, Notice.subscriber_id,
                    func.coalesce(Notice.phone, Subscriber.phone).label("phone"), Notice.status,
                    Notice.error_code, Notice.attempts, Notice.provider_sid, Notice.accepted_at, Notice.updated_at,
                    Notice.segments)
             .outerjoin(Subscriber, Subscriber.id == Notice.subscriber_id)
             .where(Notice.incident_id == incident_id)
             # the order of the incident's unique key: a page walks that index (ordered by id, a
             # page of a million-notice incident sorted every one of them first)
             .order_by(Notice.kind, Notice.sequence, Notice.subscriber_id, Notice.id))
    if kind:
        query = query.where(Notice.kind == kind)
    if status:
        query = query.where(Notice.status == status)
    return query
