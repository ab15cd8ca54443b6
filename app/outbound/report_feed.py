"""What the analysis report reads about the 上报's delivery (its shape: app/reports/providers.py)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.incidents.models import Incident
from app.outbound.models import OutboundReport, ReportTarget


def dispatch_delivery(incident: Incident) -> dict | None:
    row = db.session.scalar(select(OutboundReport).where(
        OutboundReport.incident_id == incident.id, OutboundReport.target == ReportTarget.dispatch.value)
        .order_by(OutboundReport.revision.desc()).limit(1))
    if row is None:
        return None
    return {"queued_at": row.created_at, "acknowledged_at": row.acknowledged_at, "attempts": row.attempts,
            "failures": row.failures, "first_error": row.first_error, "first_error_at": row.first_error_at,
            "last_error": row.last_error, "last_error_at": row.last_error_at}
