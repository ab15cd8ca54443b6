"""Provider webhooks already acted on, so a replayed signed request changes nothing.

A delivery-status callback is one (MessageSid, status); an inbound SMS is one MessageSid.
Each is recorded by an insert-or-ignore in the same transaction as its effect: the effect
runs only when the row was new, and a crash between the two leaves neither.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db_types import UTCDateTime
from app.extensions import db
from app.sql import dialect_insert


class StatusCallbackSeen(db.Model):
    __tablename__ = "sms_status_callbacks_seen"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboundMessage(db.Model):
    """An inbound SMS acted on. ``action`` is what it asked (opt_out, opt_in, score, none) and
    ``sent_at`` when the subscriber sent it, so an older opt-in/out never undoes a newer one."""

    __tablename__ = "sms_inbound_messages"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscriber_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


def first_status_callback(message_sid: str, status: str) -> bool:
    """Record this (MessageSid, status); False when it was recorded before (a replay)."""
    statement = dialect_insert(StatusCallbackSeen).values(
        message_sid=message_sid, status=status, received_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["message_sid", "status"])
    return db.session.execute(statement, execution_options={"preserve_rowcount": True}).rowcount == 1


FINAL_STATUSES = ("delivered", "read", "undelivered", "failed", "canceled")


def message_finished(message_sid: str, *, other_than: str) -> bool:
    """Was a final status of this provider message (other than ``other_than``, the one being applied) seen?"""
    finals = [status for status in FINAL_STATUSES if status != other_than]
    return db.session.scalar(select(StatusCallbackSeen.status).where(
        StatusCallbackSeen.message_sid == message_sid, StatusCallbackSeen.status.in_(finals)).limit(1)) is not None


def first_inbound(message_sid: str, subscriber_id: int | None, action: str, sent_at: datetime) -> bool:
    """Record this inbound message; False when its MessageSid was seen before (a replay)."""
    statement = dialect_insert(InboundMessage).values(
        message_sid=message_sid, subscriber_id=subscriber_id, action=action, sent_at=sent_at, received_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["message_sid"])
    return db.session.execute(statement, execution_options={"preserve_rowcount": True}).rowcount == 1


def newer_opt_change_exists(subscriber_id: int, sent_at: datetime, message_sid: str) -> bool:
    """Has the subscriber sent an opt-in/out later than ``sent_at`` (other than this message)?"""
    return db.session.scalar(select(InboundMessage.message_sid).where(
        InboundMessage.subscriber_id == subscriber_id, InboundMessage.action.in_(("opt_out", "opt_in")),
        InboundMessage.sent_at > sent_at, InboundMessage.message_sid != message_sid).limit(1)) is not None
