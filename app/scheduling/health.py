"""The scheduler's line in /healthz: is anybody judging deadlines, and what is this process doing."""
from __future__ import annotations

from flask import current_app

from app.clock import utcnow
from app.extensions import db
from app.ops.heartbeats import latest_beats
from app.scheduling.service import overdue_unjudged


def scheduler_probe() -> dict:
    runner = current_app.extensions.get("noc_scheduler")
    try:
        stale = overdue_unjudged()
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}
    # Works whichever process runs the scheduler: pending deadlines a minute past due mean none does.
    report = {"ok": stale == 0, "overdue_unjudged": stale, "workers": _workers()}
    report["in_process"] = runner.status() if runner is not None else {"running": False, "role": "not in this process"}
    if runner is not None and runner.last_error:
        report["ok"] = False
    return report


def _workers() -> list[dict]:
    """Every scheduler process's last heartbeat: which one is active, and how long ago each beat."""
    now = utcnow()
    return [{"worker": beat.worker, "role": beat.role, "heartbeat_age_seconds": round((now - beat.beat_at).total_seconds(), 1)}
            for beat in latest_beats("scheduler")]
