"""The outbound reports (上报 to the dispatch centre, reports to the regulator): one row per message owed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum


class ReportTarget(LabeledEnum):
    """Who receives the message (RULES §9)."""

    dispatch = "dispatch", "服务调度中心", "dispatch centre"
    regulator = "regulator", "监管机构", "regulator"


class DeliveryState(LabeledEnum):
    queued = "queued", "待发送"
    sending = "sending", "发送中"
    acknowledged = "acknowledged", "已确认接收"


class OutboundReport(db.Model):
    """One message owed to an outside party, retried until the receiver answers 2xx.

    ``body`` is the exact JSON text signed and sent on every attempt, so a re-send is
    byte-identical and the receiver's dedupe by ``idempotency_key`` sees one message.
    The claim columns follow app/claims.py (``status``, ``claim_token``, ``claimed_at``,
    ``attempts``, ``next_attempt_at`` as the lease, ``in_doubt_since``).
    """

    __tablename__ = "outbound_reports"
    __table_args__ = (
        UniqueConstraint("incident_id", "target", "revision"),
        Index("ix_outbound_reports_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    target: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    in_doubt_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_status: Mapped[int | None] = mapped_column(Integer)
    receipt: Mapped[str | None] = mapped_column(String(100))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_error: Mapped[str | None] = mapped_column(String(300))
    first_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
