"""The SMS sender's line in /healthz, true whichever process runs the sender.

Down: notices, staff alerts or "is my line affected?" codes have waited past
``NOC_QUEUE_WAIT_SECONDS`` while no sender process anywhere wrote its heartbeat within
``NOC_WORKER_STALE_SECONDS``. A backlog with a live sender is only busy; an idle queue with no
sender is nothing to send yet.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy import bindparam, func, select, text

from app.clock import utcnow
from app.db_types import UTCDateTime
from app.extensions import db
from app.notify.models import Notice
from app.ops.heartbeats import freshest_beat
from app.public.lookup_sms import LOOKUP_CODES
from app.public.models import StatusLookupCode
from app.staff.models import StaffAlert


def oldest_waiting(now: datetime) -> datetime | None:
    """The due time of the longest-waiting queued notice, staff alert or unexpired lookup code (the
    partial index ix_notices_due; ix_status_lookup_codes_due): a subscriber waits for that code too."""
    queued_alert = StaffAlert.status == "queued"
    moments = [
        db.session.scalar(select(func.min(Notice.next_attempt_at))
                          .where(Notice.status == "queued", Notice.next_attempt_at <= now)),
        db.session.scalar(select(func.min(StaffAlert.next_attempt_at))
                          .where(queued_alert, StaffAlert.next_attempt_at <= now)),
        db.session.scalar(select(func.min(StaffAlert.created_at))
                          .where(queued_alert, StaffAlert.next_attempt_at.is_(None))),
        # Due as the sender's lane claims them (one definition: lookup_sms.LOOKUP_CODES).
        db.session.scalar(select(func.min(StatusLookupCode.next_attempt_at)).where(
            text(LOOKUP_CODES.due).bindparams(bindparam("now", now, type_=UTCDateTime())))),
    ]
    moments = [m for m in moments if m is not None]
    return min(moments) if moments else None


def queue_health(app: Flask) -> dict:
    now = utcnow()
    oldest = oldest_waiting(now)
    waited = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    beat = freshest_beat("sender")
    beat_age = round((now - beat).total_seconds(), 1) if beat else None
    alive = beat_age is not None and beat_age <= float(app.config.get("NOC_WORKER_STALE_SECONDS", 30))
    report = {"ok": True, "oldest_waiting_seconds": round(waited, 1), "heartbeat_age_seconds": beat_age,
              "sender_alive": alive}
    if waited > float(app.config.get("NOC_QUEUE_WAIT_SECONDS", 60)) and not alive:
        report.update(ok=False, error="sender_down",
                      message=f"短信发送器未运行：通知已等待 {int(waited)} 秒 (no live sender; notices are waiting)")
    return report
