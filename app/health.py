"""GET /healthz: unauthenticated, reports each moving part's state."""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, current_app
from sqlalchemy import text

from app.extensions import db

blp = Blueprint("health", __name__)



def database_probe() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


@blp.get("/healthz")
def healthz():
    checks = {"database": database_probe()}
    for name, probe in current_app.extensions.get("noc_health_probes", {}).items():
        checks[name] = probe()
    healthy = all(check.get("ok") for check in checks.values())
    return {"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503
