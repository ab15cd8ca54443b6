from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum, LabeledIntEnum
from app.notify.statuses import OutboxStatus


class Tier(LabeledIntEnum):
    """The escalation tiers, in order: an unanswered alert climbs from one to the next."""

    duty_manager = 1, "值班经理", "duty manager"
    department_head = 2, "部门负责人", "department head"
    command_center = 3, "应急指挥中心", "emergency command centre"


class OncallShift(db.Model):
    """One person on duty at one tier from ``starts_at`` until (not including) ``ends_at``, UTC."""

    __tablename__ = "oncall_shifts"
    __table_args__ = (
        UniqueConstraint("user_id", "tier", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        Index("ix_oncall_shifts_tier_starts_at", "tier", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ChainCause(LabeledEnum):
    """What started an escalation chain (RULES §9: a warning or a breach alerts tier 1 and escalates).
    A deadline may have one chain of each: its warning's, which stops once it breaches, and its breach's."""

    warning = "warning", "时限预警"
    breach = "breach", "超时"


class OncallEscalation(db.Model):
    """One step of an escalation chain: the tier alerted for a deadline's warning or breach, and when.

    Tier 1 is written with the warning or breach; each next tier by the judge when nobody acknowledged
    the chain within the policy's minutes (or, for tier 2 of a breach, when the deadline is still unmet
    ``next_tier_after`` its due time: the same step, whichever comes first). The unique
    (deadline, cause, tier) makes each step exactly once, whatever passes, processes or restarts race
    for it. An acknowledgement (console or SMS reply) stamps every step of the chain, which stops it.
    ``voice_called_at``: tier 3 still unacknowledged after the policy's minutes was phoned (once).
    """

    __tablename__ = "oncall_escalations"
    __table_args__ = (UniqueConstraint("deadline_id", "cause", "tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique (deadline_id, cause, tier) indexes deadline_id: no index of its own (one write less per step).
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"))
    cause: Mapped[str] = mapped_column(String(10), default=ChainCause.breach.value, server_default="breach")
    # Its deadline's incident (a complaint's linked one), copied by the writer from the deadline's owner in
    # the same statement: the deadline's foreign key already vouches for it, so no check of its own
    # (one foreign-key trigger less per step, 70,000 at a catch-up).
    incident_id: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voice_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OncallCall(db.Model):
    """One voice call (Twilio Calls API, text-to-speech in Chinese) to one tier-3 person for one step.

    Unique (step, person): queued exactly once. Delivery has the SMS outboxes' claim discipline
    (app/claims.py): claim token, lease, and a look-up at the provider before re-placing a call
    whose claim expired in doubt, so a crash mid-call never rings anyone twice.
    """

    __tablename__ = "oncall_calls"
    __table_args__ = (UniqueConstraint("escalation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("oncall_escalations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    message: Mapped[str] = mapped_column(Text)   # what the call says (TwiML <Say language="zh-CN">)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.queued.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # lease end while calling; retry time
    in_doubt_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(20))
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
