from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime
from app.extensions import db


class Subscriber(db.Model):
    __tablename__ = "subscribers"
    __table_args__ = (CheckConstraint("monthly_fee_fen >= 0", name="fee_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    name: Mapped[str] = mapped_column(String(120), default="")
    region: Mapped[str] = mapped_column(String(60), index=True)
    # Money is integer fen (分): exact on every database, no float anywhere.
    monthly_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opted_out_source: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    service_rows: Mapped[list["SubscriberService"]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", order_by="SubscriberService.service"
    )

    @property
    def services(self) -> list[str]:
        return [row.service for row in self.service_rows]


class SubscriberService(db.Model):
    """Normalised so that 'who has service X in region Y' is an indexed set-based query."""

    __tablename__ = "subscriber_services"
    __table_args__ = (Index("ix_subscriber_services_service_subscriber", "service", "subscriber_id"),)

    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True)
    service: Mapped[str] = mapped_column(String(40), primary_key=True)

    subscriber: Mapped[Subscriber] = relationship(back_populates="service_rows")


class SubscriberDataVersion(db.Model):
    """A token that changes with every write to ``subscribers`` or ``subscriber_services``.

    Written by database triggers (migration 0025: one per statement on PostgreSQL, per row on
    SQLite), in the writer's own transaction, so it becomes visible exactly when the data does.
    Totals computed over a million subscribers are cached against it (app/compensation/totals.py).
    A random token, not a counter: it never repeats after the tables are emptied.
    """

    __tablename__ = "subscriber_data_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
