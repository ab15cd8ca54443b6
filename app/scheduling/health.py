"""The scheduler's line in /healthz: is anybody judging deadlines, and what is this process doing."""
from __future__ import annotations

from flask import current_app

from app.extensions import db
from app.scheduling.service import overdue_unjudged


def scheduler_probe() -> dict:
    runner = current_app.extensions.get("noc_scheduler")
    try:
        stale = overdue_unjudged()
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}
    # Works whichever process runs the scheduler: pending deadlines a minute past due mean none does.
    report = {"ok": stale == 0, "overdue_unjudged": stale}
    report["in_process"] = runner.status() if runner is not None else {"running": False, "role": "not in this process"}
    if runner is not None and runner.last_error:
        report["ok"] = False
    return report
