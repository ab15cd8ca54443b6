"""The deadline table: the source of truth the scheduler's jobs are derived from."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum


class DeadlineKind(LabeledEnum):
    """The obligations of RULES §2, named exactly as API.md names them, in the report's order."""

    report = "report", "上报服务调度中心", "report to dispatch center"        # from detected_at
    emergency_response = "emergency_response", "启动应急响应", "emergency response"  # major only, from detected_at
    response = "response", "响应", "response"                   # grade window, from detected_at
    recovery = "recovery", "恢复", "recovery"                   # grade window, from detected_at
    recovery_notice = "recovery_notice", "恢复通知", "recovery notice"   # from recovered_at
    formal_notice = "formal_notice", "正式通知", "formal notice"         # major only, from recovered_at
    analysis_report = "analysis_report", "故障分析报告", "analysis report"  # from recovered_at


class ComplaintDeadlineKind(LabeledEnum):
    """The limits of a complaint (RULES §8), named as API.md names them."""

    register = "register", "投诉登记"                            # from received_at
    acknowledge = "acknowledge", "投诉确认"                      # the SMS, from received_at
    investigate = "investigate", "初步调查"                      # service quality only
    feedback = "feedback", "反馈处理结果"                        # category hours
    written_feedback = "written_feedback", "书面反馈"            # working days
    follow_up = "follow_up", "回访"                              # from the feedback
    appeal_investigation = "appeal_investigation", "申诉调查"    # working days from acceptance
    appeal_review = "appeal_review", "申诉复核"
    appeal_close = "appeal_close", "申诉办结"


class DeadlineState(LabeledEnum):
    pending = "pending", "待完成"
    met = "met", "已达标"
    breached = "breached", "已超时"
    cancelled = "cancelled", "已取消"


# By value, for either owner's kinds (the judge labels both in one statement).
LABELS_BY_VALUE = {**DeadlineKind.labels(), **ComplaintDeadlineKind.labels()}


class Deadline(db.Model):
    """One obligation of one incident or one complaint. Only app.scheduling writes these rows.

    ``warn_at`` and ``escalate_at`` are stored (not derived in SQL) so that judging is a
    plain indexed comparison on both databases.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("incident_id", "kind"),
        UniqueConstraint("complaint_id", "kind"),
        # Exactly one owner: an incident (RULES §2) or a complaint (RULES §8).
        CheckConstraint("(incident_id IS NULL) <> (complaint_id IS NULL)", name="one_owner"),
        CheckConstraint("state IN ('pending', 'met', 'breached', 'cancelled')", name="state_known"),
        Index("ix_deadlines_state_due_at", "state", "due_at"),
        Index("ix_deadlines_state_warn_at", "state", "warn_at"),
        Index("ix_deadlines_state_escalate_at", "state", "escalate_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))  # uq (incident_id, kind) indexes it
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))  # uq (complaint_id, kind) too
    kind: Mapped[str] = mapped_column(String(30))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())   # detected_at, recovered_at, received_at …
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime())     # early warning (policy fraction)
    escalate_at: Mapped[datetime] = mapped_column(UTCDateTime())  # tier 2 when still unmet
    state: Mapped[str] = mapped_column(String(12), default=DeadlineState.pending.value)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())      # also set by a late fulfilment
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the breach was recorded
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # tier 2 raised
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    policy_version: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
