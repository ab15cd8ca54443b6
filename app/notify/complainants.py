"""Messages to complainants (RULES §8) through the same outbox, sender and webhooks as every notice.

- ``queue_to_complainant``: one message about one complaint (acknowledgement, result, survey),
  keyed ``(complaint_id, kind, sequence)`` — queuing it again never sends a second.
- ``queue_to_complainants``: the result an incident's recovery offers to every complaint it
  drew: one batch of the incident and one ``INSERT … SELECT`` of the complaints, so a
  thousand complainants are one statement; each complaint, and each subscriber per incident,
  gets it once (``ON CONFLICT DO NOTHING`` over both unique keys).

The phone travels on the row (a complainant need not be a subscriber). Complaint messages
are mandatory: the complainant asked for an answer, so 退订 of outage notices does not stop them.
Both write in the caller's session and do not commit.
"""
from __future__ import annotations

import logging

from sqlalchemy import Integer, Select, literal, select, true

from app.clock import utcnow
from app.extensions import db
from app.models import record_policy_version
from app.notify import statuses
from app.notify.kinds import ComplaintNoticeKind
from app.notify.statuses import OutboxStatus
from app.notify.models import Notice, NoticeBatch
from app.notify.outbox import render_texts
from app.phones import mask
from app.policy import Policy
from app.sql import dialect_insert

log = logging.getLogger(__name__)
SEQUENCE = 1


def _batch(kind: str, context: dict, policy: Policy, *, complaint_id: int | None = None,
           incident_id: int | None = None) -> NoticeBatch:
    owner = NoticeBatch.complaint_id == complaint_id if complaint_id else NoticeBatch.incident_id == incident_id
    batch = db.session.scalar(select(NoticeBatch).where(owner, NoticeBatch.kind == kind,
                                                        NoticeBatch.sequence == SEQUENCE))
    if batch is None:
        batch = NoticeBatch(complaint_id=complaint_id, incident_id=incident_id, kind=kind, sequence=SEQUENCE,
                            mandatory=True, policy_version=record_policy_version(policy), queued_at=utcnow())
        db.session.add(batch)
        db.session.flush()
        render_texts(batch, {"hotline": policy.data["hotline"], **context}, policy)
    return batch


def queue_to_complainant(complaint_id: int, kind: str, phone: str, subscriber_id: int | None, context: dict,
                         policy: Policy) -> int:
    """Queue message ``kind`` about one complaint to its phone; 0 when it was queued before."""
    if kind not in ComplaintNoticeKind.values():
        raise ValueError(f"unknown notice kind {kind!r}")
    batch = _batch(kind, context, policy, complaint_id=complaint_id)
    statement = dialect_insert(Notice).values(
        batch_id=batch.id, complaint_id=complaint_id, kind=kind, sequence=SEQUENCE, subscriber_id=subscriber_id,
        phone=phone, status=OutboxStatus.queued, attempts=0, next_attempt_at=utcnow(), updated_at=utcnow(),
    ).on_conflict_do_nothing()
    queued = db.session.execute(statement).rowcount or 0
    log.info("queued %s to complainant %s (complaint %s): %d", kind, mask(phone), complaint_id, queued)
    return queued


def queue_to_complainants(incident_id: int, kind: str, complaints: Select, context: dict, policy: Policy) -> int:
    """Queue one message of the incident to each row of ``complaints`` (columns complaint id,
    phone, subscriber id), in one INSERT … SELECT. Returns how many were newly queued."""
    batch = _batch(kind, context, policy, incident_id=incident_id)
    inner = complaints.where(true())  # keeps SQLite from reading ON CONFLICT as part of the SELECT
    id_column, phone_column, subscriber_column = inner.selected_columns[:3]
    rows = inner.with_only_columns(
        literal(batch.id), literal(incident_id, Integer()), id_column, literal(kind), literal(SEQUENCE),
        subscriber_column, phone_column, literal(OutboxStatus.queued.value), literal(0),
        literal(utcnow(), type_=Notice.next_attempt_at.type), literal(utcnow(), type_=Notice.updated_at.type),
        maintain_column_froms=True,
    )
    statement = dialect_insert(Notice).from_select(
        ["batch_id", "incident_id", "complaint_id", "kind", "sequence", "subscriber_id", "phone", "status",
         "attempts", "next_attempt_at", "updated_at"], rows,
    ).on_conflict_do_nothing()
    queued = db.session.execute(statement, execution_options={"preserve_rowcount": True}).rowcount
    log.info("queued %d %s message(s) to complainants of incident %s", queued, kind, incident_id)
    return queued


def last_complaint_survey(phone: str) -> tuple[int, object] | None:
    """(complaint id, accepted_at) of the newest complaint survey the provider took for this phone."""
    row = db.session.execute(
        select(Notice.complaint_id, Notice.accepted_at)
        .where(Notice.phone == phone, Notice.kind == ComplaintNoticeKind.complaint_survey,
               Notice.status.in_(statuses.ACCEPTED_BY_PROVIDER))
        .order_by(Notice.accepted_at.desc(), Notice.id.desc()).limit(1)
    ).first()
    return (row.complaint_id, row.accepted_at) if row else None
