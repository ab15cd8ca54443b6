"""When a notice deadline is met (RULES §2): every recovery (or formal) notice of the incident
has been accepted by the provider.

A notice that failed permanently for the subscriber's own reason (invalid number 21211,
carrier opt-out 21610, opted out here) can never be accepted; it is finished, recorded
with its code, and does not hold the deadline open. Anything still queued, being sent or
waiting for a retry does.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text

from app.clock import utcnow
from app.extensions import db
from app.incidents.models import Incident
from app.notify import kinds
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, NoticeBatch
from app.scheduling import service as deadlines


def all_accepted(batch_id: int) -> bool:
    """No notice of this batch is still waiting to be accepted by the provider."""
    # Literal, not bound, statuses: the planner must see they match the partial index's WHERE.
    pending = db.session.scalar(select(Notice.id).where(
        Notice.batch_id == batch_id, text("notices.status IN ('queued', 'sending')")).limit(1))
    return pending is None


def _any_queued(batch_id: int) -> bool:
    # The IN term repeats the partial index's WHERE so that SQLite, too, can use it.
    return db.session.scalar(select(Notice.id).where(
        Notice.batch_id == batch_id, text("notices.status IN ('queued', 'sending')"),
        text("notices.status = 'queued'")).limit(1)) is not None


def recovery_notices_accepted(incident: Incident) -> bool:
    batch_id = db.session.scalar(select(NoticeBatch.id).where(
        NoticeBatch.incident_id == incident.id, NoticeBatch.kind == NoticeKind.recovery))
    return batch_id is not None and all_accepted(batch_id)


def fulfil_if_nothing_pending(incident: Incident, kind: str) -> None:
    """Just queued notice ``kind`` (sequence 1): with nothing left to send (nobody to notify),
    its deadline is met now. Does not commit."""
    batch_id = db.session.scalar(select(NoticeBatch.id).where(
        NoticeBatch.incident_id == incident.id, NoticeBatch.kind == kind, NoticeBatch.sequence == 1))
    check_fulfilment({batch_id})


def check_fulfilment(batch_ids: set[int]) -> list[NoticeBatch]:
    """Mark each deadline-bearing batch whose notices are all accepted, and tell scheduling. Does not commit."""
    if not batch_ids:
        return []
    fulfilled = []
    candidates = db.session.scalars(select(NoticeBatch.id).where(
        NoticeBatch.id.in_(batch_ids), NoticeBatch.kind.in_(list(kinds.DEADLINES)), NoticeBatch.fulfilled_at.is_(None),
    )).all()
    # While notices still wait in the queue (nearly always) no sender thread takes the batch
    # row's lock, so they never queue up behind one another here. Near the end, rows other
    # threads are sending may be accepted but not yet committed: the lock makes those
    # threads take turns, and the last to commit sees everyone's outcome and fulfils.
    for batch_id in [b for b in candidates if not _any_queued(b)]:
        batch = db.session.scalar(select(NoticeBatch).where(NoticeBatch.id == batch_id).with_for_update()
                                  .execution_options(populate_existing=True))
        if batch.fulfilled_at is not None or not all_accepted(batch.id):
            continue
        at: datetime = db.session.scalar(select(func.max(Notice.accepted_at)).where(
            Notice.batch_id == batch.id)) or utcnow()
        batch.fulfilled_at = at
        incident = db.session.get(Incident, batch.incident_id)
        deadlines.fulfil(incident, kinds.DEADLINES[batch.kind][0], at)
        fulfilled.append(batch)
    return fulfilled
