"""Tables of "is my line affected?" (POST /status/lookup): codes, rate-limit counters, lookup counts.

``status_lookup_codes`` is both the code (its HMAC, expiry, wrong attempts, use) and the SMS
that carries it: a small outbox of its own, claimed by the sender with the notices' discipline
(app/claims.py) in a lane that never goes ahead of staff alerts and notices
(app/public/lookup_sms.py). A number that is no subscriber's gets a row too, with status
``unsent`` and never an SMS: the request does the same work either way.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db

UNSENT = "unsent"   # the status of a code for a number that is no subscriber's: never sent


class StatusLookupCode(db.Model):
    __tablename__ = "status_lookup_codes"
    __table_args__ = (
        Index("ix_status_lookup_codes_phone_id", "phone", "id"),
        Index("ix_status_lookup_codes_due", "status", "next_attempt_at"),
        Index("ix_status_lookup_codes_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))                  # E.164
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    # HMAC-SHA256 (installation secret) of id, phone and code: the code itself is never stored.
    code_hash: Mapped[str] = mapped_column(String(64))
    # The code sealed for the sender (code + PRF pad mod 10^6); cleared when the SMS ends.
    sealed_code: Mapped[int | None] = mapped_column(Integer)
    nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    wrong_attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The SMS: queued | sending | accepted | failed | unsent (no subscriber)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    in_doubt_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StatusLookupLimit(db.Model):
    """Requests per (scope, subject) per fixed window: every web process counts in one row."""

    __tablename__ = "status_lookup_limits"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)     # phone | address | verify_address
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(Integer)


class StatusLookupDay(db.Model):
    """Lookups per day (the policy's zone), whatever was on the status page."""

    __tablename__ = "status_lookup_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    requested: Mapped[int] = mapped_column(Integer, default=0)
    verified: Mapped[int] = mapped_column(Integer, default=0)
    rate_limited: Mapped[int] = mapped_column(Integer, default=0)


class StatusLookupIncidentDay(db.Model):
    """Lookups per incident per day: made while the incident was on the status page
    (``requested``, ``verified``), and verified answers that found the subscriber affected."""

    __tablename__ = "status_lookup_incident_days"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    requested: Mapped[int] = mapped_column(Integer, default=0)
    verified: Mapped[int] = mapped_column(Integer, default=0)
    affected: Mapped[int] = mapped_column(Integer, default=0)
