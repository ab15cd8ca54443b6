"""Voice calls to tier 3 (RULES §9, issue 12): the only writer of ``oncall_calls``.

The judge queues a call to each person on duty at tier 3 when a chain's tier-3 SMS is not
acknowledged in time (``queue_calls``, inside its transaction); the sender places them through
the twilio library's Calls API with the SMS outboxes' claim discipline (app/claims.py): the claim
is committed before the call is placed, and a claim whose lease ran out in doubt is looked up at
the provider (a call to the same number since the claim) before it is ever placed again. These
functions run inside the caller's transaction and never commit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from sqlalchemy import Integer, String, Text, literal, select

from app import claims
from app.auth.models import User
from app.db_types import UTCDateTime
from app.extensions import db
from app.incidents.models import Incident
from app.notify.statuses import OutboxStatus
from app.oncall.models import OncallCall, Tier
from app.sql import dialect_insert

log = logging.getLogger(__name__)


def queue_calls(escalation_id: int, incident: Incident | None, message: str, now: datetime) -> int:
    """One call per person on duty at tier 3 now (the roster, else the on-call duty managers), at most
    once per (step, person): one INSERT … SELECT. Returns how many were queued."""
    from app.staff.service import recipients   # who a tier's alert goes to: one rule for SMS and calls

    rows = select(literal(escalation_id, Integer()), User.id, literal(incident.id if incident else None, Integer()),
                  literal(message, Text()), literal(now, UTCDateTime()),
                  literal(OutboxStatus.queued.value, String()), literal(0, Integer())
                  ).where(recipients(Tier.command_center, now))
    queued = db.session.execute(dialect_insert(OncallCall.__table__).from_select(
        ["escalation_id", "user_id", "incident_id", "message", "created_at", "status", "attempts"], rows,
    ).on_conflict_do_nothing(index_elements=["escalation_id", "user_id"]),
        execution_options={"preserve_rowcount": True}).rowcount or 0
    log.info("%d voice call(s) to tier 3 queued for escalation step %d", queued, escalation_id)
    return queued


def twiml(message: str) -> str:
    """What Twilio says on the call: the message in Mandarin, twice."""
    return f'<Response><Say language="zh-CN" loop="2">{escape(message)}</Say></Response>'


@dataclass(frozen=True)
class ClaimedCall:
    id: int
    phone: str | None
    message: str
    attempts: int
    in_doubt_since: datetime | None   # an earlier claim expired: the provider may have placed it already


def claim_queued(token: str, limit: int, now: datetime, lease_seconds: float) -> list[ClaimedCall]:
    """Claim up to ``limit`` due calls under ``token`` (app/claims.py) with their callee's phone.
    The caller commits the claim before placing any."""
    if not claims.claim(claims.VOICE_CALLS, token, now, lease_seconds, limit):
        return []
    rows = db.session.execute(
        select(OncallCall.id, User.phone, OncallCall.message, OncallCall.attempts, OncallCall.in_doubt_since)
        .join(User, User.id == OncallCall.user_id).where(OncallCall.claim_token == token).order_by(OncallCall.id)
    ).all()
    return [ClaimedCall(*row) for row in rows]


def record_attempt(call_id: int, token: str, *, placed: bool, retry_at: datetime | None, sid: str | None,
                   error_code: str | None, now: datetime) -> None:
    """The provider's answer to one claimed call; ignored when the claim is no longer ``token``'s."""
    claims.record_outcome(OncallCall, call_id, token, sent=placed, sent_column="placed_at", retry_at=retry_at,
                          sid=sid, error_code=error_code, now=now)


def any_pending() -> bool:
    """Is any call queued or being placed? (app/claims.py ``any_pending``: a read before the writes.)"""
    return claims.any_pending(claims.VOICE_CALLS)


def release_expired_claims(now: datetime) -> int:
    """Calls whose sender died mid-call go back to the queue, in doubt (looked up before a re-call)."""
    return claims.release_expired(claims.VOICE_CALLS, now)
