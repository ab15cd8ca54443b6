"""Outbox statuses: of a notice to a subscriber and of an alert to staff (which skips ``accepted``).

Ranked: a status callback only ever moves a message to a higher rank (GOV.UK Notify keeps
its statuses the same way, in one constants module).
"""
from __future__ import annotations

from app.labels import LabeledEnum


class OutboxStatus(LabeledEnum):
    queued = "queued", "排队中"
    sending = "sending", "发送中"
    accepted = "accepted", "已受理"
    sent = "sent", "已发出"
    delivered = "delivered", "已送达"
    undelivered = "undelivered", "未送达"
    failed = "failed", "失败"


RANK = {OutboxStatus.queued: 0, OutboxStatus.sending: 1, OutboxStatus.accepted: 2, OutboxStatus.sent: 3,
        OutboxStatus.delivered: 4, OutboxStatus.undelivered: 4, OutboxStatus.failed: 4}
ACCEPTED_BY_PROVIDER = (OutboxStatus.accepted, OutboxStatus.sent, OutboxStatus.delivered, OutboxStatus.undelivered)
PENDING = (OutboxStatus.queued, OutboxStatus.sending)
FINAL = (OutboxStatus.delivered, OutboxStatus.undelivered, OutboxStatus.failed)
