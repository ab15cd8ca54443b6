"""Claims on the outboxes (``notices`` to subscribers, ``staff_alerts`` to staff, ``oncall_calls``: voice calls).

One discipline for both: a claim is committed before anything is sent — ``queued`` rows
become ``sending`` with a claim token, the claim time and a lease (``next_attempt_at`` =
now + lease). PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so concurrent senders take
disjoint rows; SQLite (one writer at a time) with one conditional ``UPDATE … RETURNING``.
A claim whose lease ran out with no recorded outcome (its sender died or hung) goes back to
the queue marked ``in_doubt_since`` its claim: the provider may already hold that message,
so the next send looks it up first (app/notify/provider_lookup.py).
Each outbox's owner calls these in its own transaction: they never commit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text, update

from app.db_types import UTCDateTime
from app.extensions import db

log = logging.getLogger(__name__)
_UTC = UTCDateTime()


@dataclass(frozen=True)
class Outbox:
    table: str
    due: str       # the SQL condition of a queued row ready to send
    order: str
    touch: str = ""  # extra assignments of every claim and release


NOTICES = Outbox("notices", "status = 'queued' AND next_attempt_at <= :now", "next_attempt_at",
                 ", updated_at = :now")
# The sender's first look (app/notify/sender.py): notices with a deadline, due soonest first.
NOTICES_BY_DEADLINE = Outbox("notices", "status = 'queued' AND deadline_at IS NOT NULL AND next_attempt_at <= :now",
                             "deadline_at, next_attempt_at", ", updated_at = :now")
# Alerts are queued by INSERT … SELECT with no next_attempt_at: due at once.
STAFF_ALERTS = Outbox("staff_alerts", "status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= :now)",
                      "id")
# Voice calls to tier 3 (app/oncall/calls.py): queued with no next_attempt_at too.
VOICE_CALLS = Outbox("oncall_calls", "status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= :now)",
                     "id")


def claim(outbox: Outbox, token: str, now: datetime, lease_seconds: float, limit: int) -> list[int]:
    """Claim up to ``limit`` due rows for this sender; returns their ids. The caller commits the
    claim before sending anything."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    lock = "FOR UPDATE SKIP LOCKED" if postgresql else ""
    if postgresql:
        # A claim is "the first N in an index's order". Right after a big fan-out the statistics
        # still say "nothing queued" and the planner may pick another partial index and sort every
        # queued row (250 ms a claim at 100,000 rows, measured): forbid the sort. It holds to the end
        # of the claim's transaction, which its caller commits at once (a sort there still runs
        # when nothing else can answer; the setting only makes the planner avoid it).
        db.session.execute(text("SET LOCAL enable_sort = off"))
    pick = f"SELECT id FROM {outbox.table} WHERE {outbox.due} ORDER BY {outbox.order} LIMIT :limit {lock}"
    # On PostgreSQL the pick is a MATERIALIZED CTE: it runs once, so no plan can re-run the locking
    # sub-select per outer row (more rows locked than claimed, lock-manager waits between senders).
    sets = f"""status = 'sending', claim_token = :token, claimed_at = :now,
               attempts = attempts + 1, next_attempt_at = :lease_until{outbox.touch}"""
    statement = text(f"""
        WITH picked AS MATERIALIZED ({pick})
        UPDATE {outbox.table} SET {sets} FROM picked WHERE {outbox.table}.id = picked.id
        RETURNING {outbox.table}.id""" if postgresql else f"""
        UPDATE {outbox.table} SET {sets} WHERE id IN ({pick}) RETURNING id""")
    statement = statement.bindparams(bindparam("now", type_=_UTC), bindparam("lease_until", type_=_UTC))
    return [row[0] for row in db.session.execute(statement, {
        "token": token, "now": now, "lease_until": now + timedelta(seconds=lease_seconds), "limit": limit})]


def any_pending(outbox: Outbox) -> bool:
    """Is any row of the outbox queued or being sent? A read of its status index: a sender asks
    before its claim and release UPDATEs, which cost writes (and SQLite's write lock) every cycle
    even when they match nothing."""
    return db.session.execute(text(
        f"SELECT 1 FROM {outbox.table} WHERE status IN ('queued', 'sending') LIMIT 1")).first() is not None


def release_expired(outbox: Outbox, now: datetime) -> int:
    """Claims whose lease ran out with no recorded outcome go back to the queue, in doubt since
    their (first such) claim. They keep their round, so a re-send carries the same callback URL."""
    result = db.session.execute(text(f"""
        UPDATE {outbox.table} SET status = 'queued', claim_token = NULL,
                                  in_doubt_since = COALESCE(in_doubt_since, claimed_at){outbox.touch}
        WHERE status = 'sending' AND next_attempt_at <= :now""").bindparams(bindparam("now", type_=_UTC)),
        {"now": now})
    if result.rowcount:
        log.warning("%d %s claimed by a sender that never reported back: queued again, to be looked up "
                    "at the provider before any re-send", result.rowcount, outbox.table)
    return result.rowcount or 0


def record_outcome(model, row_id: int, token: str, *, sent: bool, sent_column: str, retry_at: datetime | None,
                   sid: str | None, error_code: str | None, now: datetime) -> None:
    """The provider's answer for one claimed row of an outbox with ``OutboxStatus`` states (staff
    alerts, voice calls): sent (stamping ``sent_column``), queued again at ``retry_at``, or failed.
    Ignored when the claim is no longer ``token``'s: a sender whose lease ran out overwrites nothing."""
    from app.notify.statuses import OutboxStatus   # kept out of import time: the notifier imports claims

    values: dict = {"error_code": error_code, "claim_token": None}
    if sent:
        values.update(status=OutboxStatus.sent, provider_sid=sid, in_doubt_since=None, **{sent_column: now})
    elif retry_at is not None:
        values.update(status=OutboxStatus.queued, next_attempt_at=retry_at)
    else:
        values.update(status=OutboxStatus.failed, in_doubt_since=None)
    db.session.execute(update(model).where(
        model.id == row_id, model.claim_token == token, model.status == OutboxStatus.sending).values(**values))
