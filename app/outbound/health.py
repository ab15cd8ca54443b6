"""/healthz → ``checks.outbound``: is anything sending the reports, and is a receiver failing?

A receiver that is down is the outside party's problem, not this installation's: the reports it
refuses are re-scheduled with back-off, so they never fall overdue, and the check stays ok while
saying how many are failing. A report left due for longer than ``NOC_QUEUE_WAIT_SECONDS`` means no
outbound worker is running: that is not ok.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.outbound.models import DeliveryState, OutboundReport


def outbound_probe(app: Flask) -> dict:
    try:
        now = utcnow()
        waiting = OutboundReport.acknowledged_at.is_(None)
        unacknowledged, failing, oldest = db.session.execute(select(
            func.count(), func.count().filter(OutboundReport.failures > 0), func.min(OutboundReport.created_at))
            .where(waiting)).one()
        stale_after = timedelta(seconds=float(app.config.get("NOC_QUEUE_WAIT_SECONDS", 60)))
        overdue = db.session.scalar(select(func.count()).where(
            waiting, OutboundReport.status == DeliveryState.queued.value,
            OutboundReport.next_attempt_at < now - stale_after))
        last_error = db.session.scalar(select(OutboundReport.last_error).where(waiting, OutboundReport.failures > 0)
                                       .order_by(OutboundReport.last_error_at.desc()).limit(1))
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}
    running = app.extensions.get("noc_outbound_sender")
    state = {"ok": not overdue, "unacknowledged": unacknowledged, "failing": failing, "overdue": overdue,
             "oldest_unacknowledged_at": oldest.isoformat() if oldest else None, "last_error": last_error,
             "in_process": running is not None}
    if overdue:
        state.update(error="outbound_worker_down",
                     message="对外报送无人发送：请运行 flask outbound run (no outbound worker is sending the reports)")
    return state
