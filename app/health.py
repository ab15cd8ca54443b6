"""GET /healthz: unauthenticated, reports each moving part's state."""
from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text

from app.extensions import db
from app.ops.database_state import disk_full_since, sqlite_free_bytes

blp = Blueprint("health", __name__)



SQLITE_MIN_FREE_BYTES = 16 * 1024 * 1024   # below this a SQLite database is about to refuse writes


def database_probe() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}
    report = {"ok": True, "dialect": db.engine.dialect.name}
    full_since = disk_full_since()
    if full_since is not None:
        report.update(ok=False, error="disk_full", message="数据库磁盘已满，无法写入 (database or disk is full)",
                      since=full_since.isoformat())
    if db.engine.dialect.name == "sqlite":
        free = sqlite_free_bytes(db.engine.url.database)
        if free is not None:
            report["free_bytes"] = free
            if free < SQLITE_MIN_FREE_BYTES:
                report.update(ok=False, error="disk_full", message="数据库所在磁盘空间不足 (almost no free disk space)")
    return report


@blp.get("/healthz")
def healthz():
    checks = {"database": database_probe()}
    for name, probe in current_app.extensions.get("noc_health_probes", {}).items():
        checks[name] = probe()
    healthy = all(check.get("ok") for check in checks.values())
    return {"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503
