"""Complaints and their history. Both are kept for good: the database refuses DELETE on
``complaints`` and any change to ``complaint_events`` (see migration 0012)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum, LabeledIntEnum


class Category(LabeledEnum):
    service_quality = "service_quality", "服务质量"
    billing = "billing", "资费及账单"
    business = "business", "业务办理"
    other = "other", "其他"


class Channel(LabeledEnum):
    phone = "phone", "电话"
    online = "online", "网上"
    email = "email", "电子邮件"
    social_media = "social_media", "社交媒体"
    walk_in = "walk_in", "现场"
    sms = "sms", "短信"
    hotline_12345 = "hotline_12345", "12345 热线"
    platform_12315 = "platform_12315", "12315 平台"
    regulator_referral = "regulator_referral", "管局申诉转办"


class Status(LabeledEnum):
    registered = "registered", "已登记"
    investigated = "investigated", "已调查"
    fed_back = "fed_back", "已反馈"
    followed_up = "followed_up", "已回访"
    appealed = "appealed", "申诉受理"
    appeal_investigated = "appeal_investigated", "申诉已调查"
    appeal_reviewed = "appeal_reviewed", "申诉已复核"
    closed = "closed", "已关闭"


class Grade(LabeledIntEnum):
    """Who handles the complaint (RULES §8)."""

    one = 1, "一级（一线处理）"
    two = 2, "二级（部门负责人）"
    three = 3, "三级（总部）"
    four = 4, "四级（管局）"


# Before the result is fed back; an appeal needs a result.
BEFORE_RESULT = (Status.registered, Status.investigated)


class Complaint(db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("grade BETWEEN 1 AND 4", name="grade_range"),
        CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
        # Repeat detection (same phone, same category, 30 days) and the per-phone history.
        Index("ix_complaints_phone_category_received_at", "phone", "category", "received_at"),
        Index("ix_complaints_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    phone: Mapped[str] = mapped_column(String(20))              # E.164, the complainant's
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(30))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    category: Mapped[str] = mapped_column(String(20))
    grade: Mapped[int] = mapped_column(SmallInteger)
    content: Mapped[str] = mapped_column(Text)
    # Where the complainant is and which service the complaint is about (catalog codes), when said:
    # what links a caller who is not our subscriber to the incident that caused it.
    region: Mapped[str | None] = mapped_column(String(60))
    service: Mapped[str | None] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(24), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))     # 首接责任人, until reassigned
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))

    investigation: Mapped[str | None] = mapped_column(Text)
    investigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(Text)                  # the written record (书面反馈)
    fed_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appeal_investigation: Mapped[str | None] = mapped_column(Text)
    appeal_investigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appeal_result: Mapped[str | None] = mapped_column(Text)
    appeal_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appeal_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    policy_version: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}


class ComplaintNumberCounter(db.Model):
    """One row per day in the operator's zone; bumped atomically to number complaints."""

    __tablename__ = "complaint_number_counters"

    day: Mapped[datetime] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class ComplaintEvent(db.Model):
    """Append-only history of a complaint: the database refuses UPDATE and DELETE."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
