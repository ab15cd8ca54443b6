from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db


class EmergencyPlan(db.Model):
    """One emergency plan (应急预案) of the register: what it covers, who owns it, when it is
    next reviewed. A reminder goes to the owner before ``review_due_on`` (policy
    ``plans.review_reminder_days``), once per review cycle: moving the date starts a new cycle."""

    __tablename__ = "emergency_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    services: Mapped[list[str]] = mapped_column(JSON)   # service codes; empty = every service
    regions: Mapped[list[str]] = mapped_column(JSON)    # region names; empty = every region
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    review_due_on: Mapped[date] = mapped_column(Date, index=True)   # a day in the policy's zone
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Optimistic lock: two editors saving at once cannot both win.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}


class IncidentPlan(db.Model):
    """An incident citing a plan (on declaration or later); each plan at most once per incident."""

    __tablename__ = "incident_plans"
    __table_args__ = (UniqueConstraint("incident_id", "plan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("emergency_plans.id"), index=True)
    cited_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    cited_at: Mapped[datetime] = mapped_column(UTCDateTime())
