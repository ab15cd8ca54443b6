"""The lookup codes' SMS lane, for the sender (app/notify/sender.py).

Codes never go ahead of staff alerts or subscriber notices, and are never starved by them:
the sender serves this lane when it has nothing else to send, and, while notices wait, one
cycle in ``status_lookup.sender_lane_every`` it also sends up to ``sender_lane_batch`` codes
after its batch of notices. During a million-notice outage codes thus take a small fixed
share of the sender and a subscriber gets a code within seconds.

Claims, leases and in-doubt releases are the notices' (app/claims.py). A code is claimed only
before it expires, and its SMS carries the code's remaining life as validity period. The
sealed code is cleared once the SMS ended (accepted or failed). Run in the sender's
transaction: these functions never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app import claims
from app.extensions import db
from app.public import lookup_secret
from app.public.models import StatusLookupCode
from app.subscribers.models import Subscriber

LOOKUP_CODES = claims.Outbox(
    "status_lookup_codes", "status = 'queued' AND next_attempt_at <= :now AND expires_at > :now", "id")

TEXTS = {
    "zh-CN": "您的故障查询验证码为 {code}，{minutes} 分钟内有效，请勿告知他人。如非本人操作请忽略。",
    "en": "Your outage lookup code is {code}, valid for {minutes} minutes. Do not share it. "
          "Ignore this SMS if you did not ask for it.",
}


@dataclass(frozen=True)
class ClaimedCode:
    id: int
    key: str          # unique per code for ever (ids may be reused once old rows are deleted)
    phone: str
    body: str
    expires_at: datetime
    attempts: int
    in_doubt_since: datetime | None


def sms_text(code: str, minutes: int, language: str | None) -> str:
    return TEXTS.get(language or "zh-CN", TEXTS["zh-CN"]).format(code=code, minutes=minutes)


def claim_queued(token: str, limit: int, now: datetime, lease_seconds: float, minutes: int) -> list[ClaimedCode]:
    """Claim up to ``limit`` due codes and return their SMS. The caller commits the claim."""
    claims.release_expired(LOOKUP_CODES, now)
    if not claims.claim(LOOKUP_CODES, token, now, lease_seconds, limit):
        return []
    c = StatusLookupCode
    rows = db.session.execute(
        select(c.id, c.phone, c.nonce, c.sealed_code, c.expires_at, c.attempts, c.in_doubt_since, Subscriber.language)
        .outerjoin(Subscriber, Subscriber.id == c.subscriber_id).where(c.claim_token == token)).all()
    return [ClaimedCode(row.id, f"{row.id}-{row.nonce[:12]}", row.phone,
                        sms_text(lookup_secret.unseal(row.nonce, row.sealed_code), minutes, row.language),
                        row.expires_at, row.attempts, row.in_doubt_since) for row in rows]


def record_attempt(code_id: int, token: str, *, accepted: bool, retry_at: datetime | None, sid: str | None,
                   error_code: str | None, now: datetime) -> None:
    """The provider's answer for one claimed code; ignored when the claim is no longer ``token``'s."""
    values: dict = {"error_code": error_code, "claim_token": None}
    if accepted:
        values.update(status="accepted", sent_at=now, provider_sid=sid, in_doubt_since=None, sealed_code=None)
    elif retry_at is not None:
        values.update(status="queued", next_attempt_at=retry_at)
    else:
        values.update(status="failed", in_doubt_since=None, sealed_code=None)
    db.session.execute(update(StatusLookupCode).where(
        StatusLookupCode.id == code_id, StatusLookupCode.claim_token == token).values(**values),
        execution_options={"synchronize_session": False})
