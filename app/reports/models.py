"""The review workflow's tables: one report per incident, and its append-only edit versions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum


class ReportState(LabeledEnum):
    draft = "draft", "草稿"                # the reviewer may edit
    submitted = "submitted", "已提交"      # sent to the dispatch center; frozen
    approved = "approved", "已审核"


class AnalysisReport(db.Model):
    """The workflow state of one incident's report; its text lives in the versions."""

    __tablename__ = "analysis_reports"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'submitted', 'approved')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default=ReportState.draft.value)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)  # 0: nothing edited yet
    submitted_version: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Optimistic lock: two reviewers saving at once cannot both write version N+1.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}


class AnalysisReportVersion(db.Model):
    """One reviewer edit of the free-text sections. Append-only: the database refuses UPDATE and DELETE."""

    __tablename__ = "analysis_report_versions"
    __table_args__ = (UniqueConstraint("report_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("analysis_reports.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    preventive_measures: Mapped[str] = mapped_column(Text, default="")   # 后续预防措施
    lessons: Mapped[str] = mapped_column(Text, default="")               # 经验教训
    rectification_notes: Mapped[str] = mapped_column(Text, default="")   # 整改说明
    edited_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    edited_by_name: Mapped[str] = mapped_column(String(80))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    policy_version: Mapped[str] = mapped_column(String(60))
