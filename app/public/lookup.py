""""Is my line affected?": a one-time SMS code to a phone number, then the subscriber's own answer.

Enumeration resistance: until a code is verified, nothing tells a subscriber's number from
any other. ``request_code`` does the same work for both (rate limits, a code row, the counts,
one commit) and returns the same answer; only the row of a subscriber's number is queued for
the sender, the other is ``unsent``. ``verify_code`` finds the code row the same way for both,
so a guess at a number that is no subscriber's fails exactly like a wrong code.

Codes: six random digits, kept only as an HMAC under the installation secret (and sealed for
the sender until its SMS ends: app/public/lookup_secret.py); a newer code replaces the older
ones of the number; ``code_minutes`` to live; single use (a conditional UPDATE); spent after
``max_wrong_attempts`` wrong tries. Numbers: policy ``[status_lookup]``.
"""
from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update

from app.errors import InvalidInput
from app.extensions import db
from app.phones import InvalidPhone, mask, to_e164
from app.policy import Policy
from app.public import lookup_counts, lookup_limits, lookup_secret
from app.public.lookup_answer import shown_outages, subscriber_of, verified_answer
from app.public.models import UNSENT, StatusLookupCode

log = logging.getLogger(__name__)
CODE_PATTERN = re.compile(r"^[0-9]{6}$")
WRONG_CODE = "验证码错误或已失效，请重新获取 (wrong or expired code)"


def parse_phone(raw: str) -> str:
    try:
        return to_e164(raw)
    except InvalidPhone as exc:
        raise InvalidInput("phone", str(exc)) from None


def _limited(scope: str, subject: str, now: datetime, policy: Policy, limit_key: str) -> None:
    rules = policy.status_lookup
    window = timedelta(minutes=rules["window_minutes"])
    try:
        lookup_limits.count(scope, subject, now, window, rules[limit_key])
    except lookup_limits.RateLimited:
        lookup_counts.count_day(lookup_counts.local_day(now, policy), "rate_limited")
        db.session.commit()   # the refused request stays counted
        raise


def request_code(raw_phone: str, address: str, now: datetime, policy: Policy) -> dict:
    """Issue a code for the number (sent only if it is a subscriber's); the same answer either way."""
    phone = parse_phone(raw_phone)
    rules = policy.status_lookup
    lookup_limits.forget_old_windows(now, timedelta(minutes=rules["window_minutes"]))
    _forget_old_codes(now, policy)
    _limited(lookup_limits.ADDRESS, address, now, policy, "address_max_requests")
    _limited(lookup_limits.PHONE, phone, now, policy, "phone_max_requests")
    _issue(phone, now, policy)
    day = lookup_counts.local_day(now, policy)
    lookup_counts.count_day(day, "requested")
    lookup_counts.count_incidents(day, [incident.id for incident in shown_outages(now, policy)], "requested")
    db.session.commit()
    log.info("lookup code asked for %s", mask(phone))
    return code_requested_answer(policy)


def code_requested_answer(policy: Policy) -> dict:
    minutes = policy.status_lookup["code_minutes"]
    return {"message": f"如该号码为本网用户，验证码短信已发出，{minutes} 分钟内有效。"
                       f"(If this number is ours, a code is on its way by SMS; valid for {minutes} minutes.)",
            "code_minutes": minutes}


def _forget_old_codes(now: datetime, policy: Policy) -> None:
    """Codes (and the numbers they name) long expired are deleted (an expired code is never sent);
    one still in a sender's hands keeps its row until the sender records the outcome."""
    db.session.execute(delete(StatusLookupCode).where(
        StatusLookupCode.expires_at < now - timedelta(hours=policy.status_lookup["keep_codes_hours"]),
        StatusLookupCode.status != "sending"))


def _issue(phone: str, now: datetime, policy: Policy) -> None:
    # Older codes of the number stop counting (and their SMS, if still queued, is never sent).
    db.session.execute(update(StatusLookupCode).where(
        StatusLookupCode.phone == phone, StatusLookupCode.used_at.is_(None), StatusLookupCode.expires_at > now,
    ).values(expires_at=now))
    subscriber_id = subscriber_of(phone)
    code, nonce = lookup_secret.new_code(), secrets.token_hex(16)
    # Core, not the ORM's unit of work: the same single INSERT for a subscriber and a stranger.
    db.session.execute(insert(StatusLookupCode.__table__), [dict(
        phone=phone, subscriber_id=subscriber_id, code_hash=lookup_secret.code_hash(nonce, phone, code),
        sealed_code=lookup_secret.seal(nonce, code), nonce=nonce, created_at=now,
        expires_at=now + timedelta(minutes=policy.status_lookup["code_minutes"]), wrong_attempts=0,
        status="queued" if subscriber_id is not None else UNSENT, attempts=0, next_attempt_at=now)])


def _live_code(phone: str, now: datetime, policy: Policy) -> StatusLookupCode | None:
    return db.session.scalar(
        select(StatusLookupCode).where(
            StatusLookupCode.phone == phone, StatusLookupCode.used_at.is_(None), StatusLookupCode.expires_at > now,
            StatusLookupCode.wrong_attempts < policy.status_lookup["max_wrong_attempts"])
        .order_by(StatusLookupCode.id.desc()).limit(1).with_for_update())


def _spend(row: StatusLookupCode, now: datetime) -> bool:
    """Use the code once: of two verifications racing with the right code, one wins."""
    result = db.session.execute(update(StatusLookupCode).where(
        StatusLookupCode.id == row.id, StatusLookupCode.used_at.is_(None)).values(used_at=now),
        execution_options={"synchronize_session": False, "preserve_rowcount": True})
    return result.rowcount == 1


def verify_code(raw_phone: str, raw_code: str, address: str, now: datetime, policy: Policy) -> dict:
    phone = parse_phone(raw_phone)
    code = (raw_code or "").strip()
    if not CODE_PATTERN.match(code):
        raise InvalidInput("code", "验证码为 6 位数字 (the code is 6 digits)")
    _limited(lookup_limits.VERIFY_ADDRESS, address, now, policy, "address_max_verifications")
    row = _live_code(phone, now, policy)
    if row is None or not lookup_secret.matches(row.code_hash, row.nonce, phone, code) or not _spend(row, now):
        if row is not None:
            db.session.execute(update(StatusLookupCode).where(StatusLookupCode.id == row.id).values(
                wrong_attempts=StatusLookupCode.wrong_attempts + 1), execution_options={"synchronize_session": False})
        db.session.commit()
        log.info("lookup code for %s refused", mask(phone))
        raise InvalidInput("code", WRONG_CODE)
    shown = shown_outages(now, policy)
    answer, affecting = verified_answer(phone, row.subscriber_id, shown, now, policy)
    day = lookup_counts.local_day(now, policy)
    lookup_counts.count_day(day, "verified")
    lookup_counts.count_incidents(day, [incident.id for incident in shown], "verified")
    lookup_counts.count_incidents(day, affecting, "affected")
    db.session.commit()
    log.info("lookup verified for %s: %d outage(s) affect it", mask(phone), len(affecting))
    return answer
