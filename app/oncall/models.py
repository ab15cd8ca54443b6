from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledIntEnum


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


class OncallEscalation(db.Model):
    """One step of a breach's escalation chain: the tier alerted for a breached deadline, and when.

    Tier 1 is written with the breach; each next tier by the judge when nobody acknowledged the
    chain within the policy's minutes. The unique (deadline, tier) makes each step exactly once,
    whatever passes, processes or restarts race for it. An acknowledgement (console or SMS reply)
    stamps every step of the chain, which stops it.
    """

    __tablename__ = "oncall_escalations"
    __table_args__ = (UniqueConstraint("deadline_id", "tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    tier: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
