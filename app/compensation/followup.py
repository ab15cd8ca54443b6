"""The compensation notices of a final ledger, queued by a follow-up job after closure.

Closing a million-subscriber incident writes the ledger in one transaction; queueing a
million 补偿通知 in that same transaction was most of its time (bench/compensation.py).
So closure only writes the ledger, with ``notices_queued_at`` NULL, and this job — a step
of every scheduler pass (app/scheduling/runner.py), also ``flask compensation queue-notices``
— queues them afterwards, one ledger per transaction:

- a crash between the two: the header says "not queued yet", the next pass queues them
  (nothing lost);
- a second run, a second process: the claim reads only headers still NULL, locked with SKIP
  LOCKED on PostgreSQL, and the outbox's unique key (incident, kind, sequence, subscriber)
  with ON CONFLICT DO NOTHING makes a re-run after a crash mid-way add only what is missing
  (nothing doubled).
"""
from __future__ import annotations

import logging

from sqlalchemy import select, text

from app.clock import utcnow
from app.compensation import engine, notices
from app.compensation.models import CompensationLedger
from app.extensions import db
from app.incidents.models import Incident
from app.transactions import retry_on_conflict

log = logging.getLogger(__name__)


def pending_ledgers():
    """Final ledgers whose notices are still to queue, oldest incident first."""
    return (select(CompensationLedger).where(CompensationLedger.notices_queued_at.is_(None))
            .order_by(CompensationLedger.incident_id))


def queue_pending(*, limit: int | None = None) -> list[int]:
    """Queue the notices of every ledger still waiting (at most ``limit``); returns their incident ids.
    Commits one ledger at a time."""
    done: list[int] = []
    while limit is None or len(done) < limit:
        incident_id = queue_next()
        if incident_id is None:
            break
        done.append(incident_id)
    return done


@retry_on_conflict
def queue_next() -> int | None:
    """Claim one waiting ledger, queue its notices, mark it, commit; None when none waits."""
    claim = pending_ledgers().limit(1)
    if db.session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    try:
        header = db.session.scalar(claim)
        if header is None:
            db.session.rollback()
            return None
        incident = db.session.get(Incident, header.incident_id)
        _refresh_statistics()
        queued = notices.queue_compensation_notices(incident, engine.credited_subscriber_ids(incident.id))
        header.notices_queued_at = utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("compensation notices of incident %s queued: %d new", incident.number, queued)
    return incident.id


def _refresh_statistics() -> None:
    """Let PostgreSQL's planner see the ledger closure just wrote before joining it to subscribers.

    Without it the planner may still believe the incident's key range holds a few rows and
    join a million ledger rows to subscribers by one index probe each (bench/compensation.py).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE compensation_entries"))
