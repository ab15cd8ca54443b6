"""Queuing notices into the outbox — the notifier's public entry point.

``queue_for_subscribers(incident, kind, sequence, subscriber_ids_select, context)`` is what every
domain calls (the compensation engine queues its 补偿通知 this way, with a SELECT of the
credited subscriber ids). It renders the notice once per language, then adds one outbox
row per subscriber with ONE ``INSERT … SELECT … ON CONFLICT DO NOTHING``: never a Python
loop over subscribers, and calling it again with the same (incident, kind, sequence)
only adds the subscribers that were not queued yet (a scope that grew), never a second
notice to anyone. It writes in the caller's session and does not commit.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, literal, select, true

from app.clock import utcnow
from app.extensions import db
from app.incidents.models import Incident
from app.models import record_policy_version
from app.notify import drills, kinds, placeholders
from app.notify.kinds import NoticeKind
from app.notify.statuses import OutboxStatus
from app.notify.models import Notice, NoticeBatch, NoticeText
from app.notify.templates import LANGUAGES, count_segments, local_time, render
from app.policy import Policy, current_policy
from app.subscribers.affected import affected_subscriber_ids
from app.service_names import service_name
from app.sql import dialect_insert
from app.subscribers.models import Subscriber

log = logging.getLogger(__name__)

def incident_context(incident: Incident, policy: Policy) -> dict:
    """The placeholders every template may use (RULES §6)."""
    zone = policy.zone
    return {
        "number": incident.number,
        "title": incident.title,
        "services": "、".join(service_name(s) for s in incident.services),
        "services_en": ", ".join(service_name(s, "en") for s in incident.services),
        "regions": "、".join(incident.regions),
        "detected_at": local_time(incident.detected_at, zone),
        "recovered_at": local_time(incident.recovered_at, zone),
        "estimated_recovery_at": local_time(incident.estimated_recovery_at, zone),
        "hotline": policy.data["hotline"],
        "drill": incident.drill,   # 演练: the text is marked (templates.render)
    }


def notice_deadline(incident: Incident, kind: str, policy: Policy) -> datetime | None:
    if kind not in kinds.DEADLINES or incident.recovered_at is None:
        return None
    return incident.recovered_at + policy.minutes(kinds.DEADLINES[kind][1])


def queue_for_subscribers(incident: Incident, kind: str, sequence: int, subscriber_ids_select: Select,
                 context: dict | None = None, *, not_before: datetime | None = None,
                 policy: Policy | None = None) -> int:
    """Queue notice (incident, kind, sequence) to every subscriber id the SELECT yields.

    ``subscriber_ids_select`` is a SELECT of one column of subscriber ids (for example
    ``app.subscribers.affected.affected_subscriber_ids(...)``); ``context`` adds to the
    incident's placeholders (``message``, ``explanation``, ``compensation`` …).
    The SELECT yields each id at most once (every caller's does: subscribers, or one ledger
    row per subscriber). Opted-out subscribers are left out unless the policy lists ``kind``
    as mandatory. Returns how many rows were newly queued. Does not commit.
    """
    if kind not in NoticeKind.labels():
        raise ValueError(f"unknown notice kind {kind!r}")
    policy = policy or current_policy()
    now = utcnow()
    batch, first = _batch(incident, kind, sequence, {**incident_context(incident, policy), **(context or {})},
                          not_before, policy, now)

    ids = subscriber_ids_select
    if incident.drill:   # a drill tells only the policy's test list (app/notify/drills.py)
        ids = drills.only_test_list(ids, policy)
    if not batch.mandatory:
        if Subscriber.__table__ in ids.get_final_froms():
            ids = ids.where(Subscriber.opted_out_at.is_(None))
        else:
            inner = ids.subquery()
            ids = (select(inner.c[0]).join(Subscriber, Subscriber.id == inner.c[0])
                   .where(Subscriber.opted_out_at.is_(None)))
    # ``WHERE true`` keeps SQLite's parser from reading ON CONFLICT as part of the SELECT.
    inner = ids.where(true())
    subscriber_id = inner.selected_columns[0]
    if not first:
        # Queued before (a scope that grew, a retry): only the subscribers not queued yet, found by
        # one merge anti-join along the unique key; ON CONFLICT (below) still settles a race with
        # another transaction. A conflict check per row cost more than the first queueing itself.
        inner = inner.where(~exists().where(
            Notice.incident_id == incident.id, Notice.kind == kind, Notice.sequence == sequence,
            Notice.subscriber_id == subscriber_id))
    # In the unique key's order: each index page fills once, and PostgreSQL joins the scope by
    # merging two id-ordered indexes instead of a hash that spills past work_mem and shuffles the
    # rows (a million subscribers: 1.7M buffer reads and 90 MB of WAL more, measured).
    rows = inner.with_only_columns(
        literal(batch.id), literal(incident.id), literal(kind), literal(sequence), subscriber_id,
        literal(OutboxStatus.queued.value), literal(0), literal(batch.not_before or now, type_=Notice.next_attempt_at.type),
        literal(batch.deadline_at, type_=Notice.deadline_at.type), literal(now, type_=Notice.updated_at.type),
        maintain_column_froms=True,
    ).order_by(subscriber_id)
    statement = dialect_insert(Notice).from_select(
        ["batch_id", "incident_id", "kind", "sequence", "subscriber_id", "status", "attempts", "next_attempt_at",
         "deadline_at", "updated_at"],
        rows,
    )
    if not first:
        # A batch created in this transaction has no rows anywhere (its own unique key keeps a
        # concurrent creator out), so its first queueing skips the conflict check: one index
        # probe and one WAL record less per row (the unique key still guards every row).
        statement = statement.on_conflict_do_nothing(index_elements=["incident_id", "kind", "sequence", "subscriber_id"])
    queued = db.session.execute(statement, execution_options={"preserve_rowcount": True}).rowcount
    log.info("queued %d %s notice(s) for %s (sequence %s)", queued, kind, incident.number, sequence)
    return queued


def queue_for_affected(incident: Incident, kind: str, sequence: int = 1, context: dict | None = None, *,
                       not_before: datetime | None = None, policy: Policy | None = None) -> int:
    """Queue a notice to the subscribers in the incident's scope as it is now (the scope can grow)."""
    policy = policy or current_policy()
    ids = affected_subscriber_ids(incident.services, incident.regions, policy)
    return queue_for_subscribers(incident, kind, sequence, ids, context, not_before=not_before, policy=policy)


def _batch(incident: Incident, kind: str, sequence: int, context: dict, not_before: datetime | None,
           policy: Policy, now: datetime) -> tuple[NoticeBatch, bool]:
    """The notice itself, rendered once per language, and whether this call created it; an
    existing notice keeps its first text."""
    batch = db.session.scalar(select(NoticeBatch).where(
        NoticeBatch.incident_id == incident.id, NoticeBatch.kind == kind, NoticeBatch.sequence == sequence))
    if batch is not None:
        return batch, False
    batch = NoticeBatch(incident_id=incident.id, kind=kind, sequence=sequence,
                        mandatory=kind in policy.data["notices"]["mandatory_kinds"],
                        deadline_at=notice_deadline(incident, kind, policy), not_before=not_before,
                        policy_version=record_policy_version(policy), queued_at=now)
    db.session.add(batch)
    db.session.flush()
    render_texts(batch, context, policy)
    return batch, True


def render_texts(batch: NoticeBatch, context: dict, policy: Policy | None = None) -> None:
    """The batch's text in every language, rendered once (flushed, not committed).

    Per-subscriber fields (name, own services, own compensation) stay markers in this text
    for the sender to fill (placeholders.py); ``segments`` counts it with the neutral values
    (an estimate: each subscriber's real count is stored per notice when sent)."""
    personal_name = (policy or current_policy()).data["notices"].get("personal_name", False)
    for language in LANGUAGES:
        localized = {**context, "services": context.get("services_en", context.get("services"))} if language == "en" else context
        body = render(batch.kind, language, placeholders.batch_context(localized, language, personal_name))
        db.session.add(NoticeText(batch_id=batch.id, language=language, body=body,
                                  segments=count_segments(placeholders.typical(body, localized, language)).segments))
    db.session.flush()


def validity_seconds(deadline_at: datetime | None, now: datetime) -> int | None:
    """Seconds the provider may keep a notice queued: until its deadline, within Twilio's 1..36000.

    A notice already past its deadline is sent without a validity period: late is better
    than never for a recovery notice.
    """
    if deadline_at is None:
        return 36000
    left = (deadline_at - now).total_seconds()
    if left <= 0:
        return None
    return max(1, min(36000, int(left)))


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    return timedelta(seconds=min(cap, base * (2 ** max(0, attempts - 1))))
