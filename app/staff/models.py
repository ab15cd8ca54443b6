from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum
from app.notify.statuses import OutboxStatus


class StaffAlertKind(LabeledEnum):
    """What a staff alert is about, with the label the inbox and the timeline show."""

    deadline_warning = "deadline_warning", "时限预警"
    deadline_breach = "deadline_breach", "超时告警"
    escalation_tier2 = "escalation_tier2", "超时升级"
    oncall_escalation = "oncall_escalation", "值班逐级升级"
    plan_review_due = "plan_review_due", "预案复审提醒"


class AckChannel(LabeledEnum):
    """How a staff alert was acknowledged (on the timeline's one acknowledgement kind)."""

    console = "console", "控制台"
    sms = "sms", "短信回复"


class StaffAlert(db.Model):
    """One message to one staff member. ``dedupe_key`` makes every alert exactly-once."""

    __tablename__ = "staff_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # No index: no query looks alerts up by incident (one index write less per alert; migration 0030).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(40))  # a StaffAlertKind value
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Delivery (the SMS sender records it through app.staff.service): queued -> sending -> sent/delivered/failed,
    # with the notices' claim discipline (claim token, lease, in-doubt look-up: app/claims.py).
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.queued.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # lease end while sending; retry time
    in_doubt_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(20))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who read it and when (console button or API); the on-call escalation stops here.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
