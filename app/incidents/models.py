from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum, LabeledIntEnum


class Status(LabeledEnum):
    declared = "declared", "登记"
    reported = "reported", "已上报"
    responding = "responding", "处理中"
    recovered = "recovered", "已恢复"
    closed = "closed", "已闭环"
    cancelled = "cancelled", "误报撤销"


class Level(LabeledIntEnum):
    """The grade (RULES §1); stored as the integer."""

    one = 1, "一级故障", "Level 1"
    two = 2, "二级故障", "Level 2"
    three = 3, "三级故障", "Level 3"


class Incident(db.Model):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),
        CheckConstraint("proposed_level BETWEEN 1 AND 3", name="proposed_level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    services: Mapped[list[str]] = mapped_column(JSON)
    regions: Mapped[list[str]] = mapped_column(JSON)

    level: Mapped[int] = mapped_column(Integer)
    proposed_level: Mapped[int] = mapped_column(Integer)
    level_reason: Mapped[str | None] = mapped_column(Text)
    major: Mapped[bool] = mapped_column(default=False)
    major_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # 演练: set at declaration only. A drill is run like an incident but kept out of every
    # statistic, compliance figure and the public status page, and its messages say 【演练】.
    drill: Mapped[bool] = mapped_column(default=False, server_default=false())

    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    estimated_recovery_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fault_type: Mapped[str | None] = mapped_column(String(200))
    scope_summary: Mapped[str | None] = mapped_column(Text)

    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responder: Mapped[str | None] = mapped_column(String(120))
    emergency_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recovery_summary: Mapped[str | None] = mapped_column(Text)
    # Fixed at recovery (RULES §2): the impact measure stops growing then.
    affected_subscribers_at_recovery: Mapped[int | None] = mapped_column(Integer)
    # 64-bit: a million subscribers down 36 hours is already past 2³¹ user-minutes (SQLite's
    # INTEGER is 64-bit already).
    user_minutes_at_recovery: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    analysis_report_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    policy_version: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Optimistic lock: two operators acting at once cannot both win a transition.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}

    responsibilities: Mapped[list["Responsibility"]] = relationship(
        back_populates="incident", order_by="Responsibility.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status not in (Status.closed.value, Status.cancelled.value)


class IncidentNumberCounter(db.Model):
    """One row per day in the operator's zone; bumped atomically to number incidents."""

    __tablename__ = "incident_number_counters"

    day: Mapped[datetime] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class Responsibility(db.Model):
    """One cause of an incident with the party responsible and its share (责任认定)."""

    __tablename__ = "incident_responsibilities"
    __table_args__ = (
        UniqueConstraint("incident_id", "category", "sub_cause", "party"),
        CheckConstraint("share BETWEEN 1 AND 100", name="share_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    sub_cause: Mapped[str] = mapped_column(String(40))
    party: Mapped[str] = mapped_column(String(120))
    share: Mapped[int] = mapped_column(Integer)  # percent; an incident's shares sum to 100

    incident: Mapped[Incident] = relationship(back_populates="responsibilities")


class TimelineEvent(db.Model):
    """Append-only: the database refuses UPDATE and DELETE on this table (see the migration)."""

    __tablename__ = "timeline_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(80))  # "system" for the scheduler and sender
    message: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
