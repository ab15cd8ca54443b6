"""The subscriber-notice outbox (用户通知): one row per notice per subscriber.

A notice (incident, kind, sequence) is rendered once per language into ``notice_texts``;
each outbox row only points at it, so a 1,000,000-subscriber recovery notice is 1,000,000
narrow rows plus two texts, not 1,000,000 copies of the same 200 characters.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db


class NoticeBatch(db.Model):
    """One notice to the affected set: its deadline, texts and when it was (last) queued."""

    __tablename__ = "notice_batches"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "sequence"),
                      UniqueConstraint("complaint_id", "kind", "sequence"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # An incident's notice, or a message about one complaint (RULES §8); the result offered to
    # an incident's complainants belongs to the incident.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    kind: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(Integer)
    mandatory: Mapped[bool] = mapped_column(default=False)  # sent to opted-out subscribers too
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    policy_version: Mapped[str] = mapped_column(String(60))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # every notice accepted by the provider


class NoticeText(db.Model):
    __tablename__ = "notice_texts"

    batch_id: Mapped[int] = mapped_column(ForeignKey("notice_batches.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(10), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(SmallInteger)


class Notice(db.Model):
    """One notice to one subscriber. The unique key makes queuing idempotent (ON CONFLICT DO NOTHING).

    status: queued → sending (claimed) → accepted (provider took it, SID stored) → sent →
    delivered | undelivered | failed. Only forward, except a transient failure (429/5xx,
    30003) which puts it back to queued with ``next_attempt_at`` in the future.
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("incident_id", "kind", "sequence", "subscriber_id"),
        # A complainant's message, once per complaint (the phone may be no subscriber's).
        # Partial: the million rows of an incident notice have no complaint and need no entry.
        Index("uq_notices_complaint_id_kind_sequence", "complaint_id", "kind", "sequence", unique=True,
              postgresql_where=text("complaint_id IS NOT NULL"), sqlite_where=text("complaint_id IS NOT NULL")),
        # Partial indexes, so each question reads only the rows it is about, even with a
        # million notices waiting (e.g. a survey held for an hour):
        # the sender's claim — the due queued rows, oldest first;
        Index("ix_notices_due", "next_attempt_at", postgresql_where=text("status = 'queued'"),
              sqlite_where=text("status = 'queued'")),
        # claims whose lease ran out with no recorded outcome;
        Index("ix_notices_in_flight", "next_attempt_at", postgresql_where=text("status = 'sending'"),
              sqlite_where=text("status = 'sending'")),
        # "is anything of this notice still waiting?" (the deadline is met when nothing is).
        Index("ix_notices_pending_batch", "batch_id", postgresql_where=text("status IN ('queued', 'sending')"),
              sqlite_where=text("status IN ('queued', 'sending')")),
        # "which complaint survey did this number last get?" for an inbound 1–5 reply.
        # the sender's first claim: notices with a deadline, due soonest first.
        Index("ix_notices_due_by_deadline", "deadline_at", "next_attempt_at",
              postgresql_where=text("status = 'queued' AND deadline_at IS NOT NULL"),
              sqlite_where=text("status = 'queued' AND deadline_at IS NOT NULL")),
        Index("ix_notices_phone_kind", "phone", "kind", postgresql_where=text("phone IS NOT NULL"),
              sqlite_where=text("phone IS NOT NULL")),
        # the change version of an incident's notices: its latest updated_at is one entry
        # (app/notify/summary_cache.py: counted once per change, not per view);
        Index("ix_notices_incident_updated", "incident_id", "updated_at"),
        # a notice's rate over the last minute reads that minute's acceptances only.
        Index("ix_notices_batch_accepted", "batch_id", "accepted_at", postgresql_where=text("accepted_at IS NOT NULL"),
              sqlite_where=text("accepted_at IS NOT NULL")),
    )

    # No foreign keys on this table, on purpose: rows are only ever written by INSERT … SELECT
    # from subscribers and a batch this code just created, and PostgreSQL's per-row FK
    # triggers tripled the time to queue a 1,000,000-subscriber notice (bench/fanout.py).
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(Integer)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(Integer)
    subscriber_id: Mapped[int | None] = mapped_column(Integer)  # None: a complainant who is no subscriber
    complaint_id: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(20))      # E.164; complaint messages carry their own
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    # Bumped when the handset was unreachable (30003) and the notice goes out again as a new
    # message; part of the idempotency key, which a crash-retry of the same round reuses.
    delivery_round: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when a claim's lease ran out with no outcome (the sender died mid-send): the earliest
    # such claim. The provider may hold a message from then on; the next send looks it up first.
    in_doubt_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(20))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Stamped by every write, queuing included: the change version of the incident's notices.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The SMS segments of the text this subscriber was sent (their own name, services and
    # amount make it differ from the batch text's count); set when the provider accepts it.
    segments: Mapped[int | None] = mapped_column(SmallInteger)
    # The batch's deadline, copied at queuing so the sender claims "due soonest first" from one
    # partial index (ix_notices_due_by_deadline) instead of joining and sorting a million rows.
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SenderIdentity(db.Model):
    """One sending number or account (发送号码) and its rate, shared by every sender process.

    The row is also the pool's global rate limiter: ``free_at`` is the limiter's virtual
    schedule (GCRA, the token bucket as "the next free slot"): a send of n segments reserves
    ``[max(free_at, now), +n/rate)`` in ONE atomic ``UPDATE … RETURNING`` and waits for the start
    of its slot. It is seconds since the epoch (a float) because the reservation is arithmetic in
    SQL that must read the same on PostgreSQL and SQLite; it is the limiter's clock, nobody's date.
    """

    __tablename__ = "sms_sender_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)      # the number or the account SID
    from_number: Mapped[str | None] = mapped_column(String(20))       # E.164, or
    messaging_service_sid: Mapped[str | None] = mapped_column(String(40))
    segments_per_second: Mapped[float] = mapped_column(Float)         # 0: no limit
    enabled: Mapped[bool] = mapped_column(default=True)
    free_at: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SatisfactionScore(db.Model):
    """A reply 1–5 to a satisfaction survey (满意度调查); the last reply per subscriber and incident counts."""

    __tablename__ = "satisfaction_scores"
    __table_args__ = (UniqueConstraint("incident_id", "subscriber_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(SmallInteger)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
