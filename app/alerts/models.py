"""Incident proposals and the alerts that formed them."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db


class ProposalState(str, enum.Enum):
    open = "open"            # 待处理
    declared = "declared"    # 已登记为故障
    dismissed = "dismissed"  # 已忽略


class AlertProposal(db.Model):
    """One group of alerts (same values of the policy's ``group_by`` labels) an operator may declare.

    ``open_key`` is the group key while alerts may still join (unique, so two concurrent
    webhooks never open two proposals for one group); it is cleared when the grouping window
    lapses or the proposal is dismissed, and a later alert of that group opens a new one.
    """

    __tablename__ = "alert_proposals"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'declared', 'dismissed')", name="state"),
        Index("ix_alert_proposals_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(500))
    open_key: Mapped[str | None] = mapped_column(String(500), unique=True)
    group_labels: Mapped[dict] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(500))
    services: Mapped[list[str]] = mapped_column(JSON)
    regions: Mapped[list[str]] = mapped_column(JSON)
    unmapped: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default=ProposalState.open.value)
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    firing_count: Mapped[int] = mapped_column(Integer, default=0)
    first_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    dismiss_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(db.Model):
    """One alert, by its source's ``fingerprint``: repeats update this row, never add one."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_proposal_status", "proposal_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200), unique=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("alert_proposals.id"))
    status: Mapped[str] = mapped_column(String(20))
    labels: Mapped[dict] = mapped_column(JSON)
    annotations: Mapped[dict] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
