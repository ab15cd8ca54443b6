"""What the analysis report reads from compensation (its shapes: app/reports/providers.py)."""
from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import func, select

from app.clock import utcnow
from app.compensation import accountability, engine, ledger
from app.compensation.models import CompensationEntry, CompensationVersion, RectificationItem, of_incident
from app.extensions import db
from app.incidents.models import Incident
from app.policy import current_policy


def compensation_totals(incident: Incident) -> dict:
    """Totals of the final ledger after closure, else of the live preview (never for a cancelled incident)."""
    result = ledger.compensation_of(incident.id)
    totals = result["totals"]
    disputes = db.session.scalar(
        select(func.count(CompensationVersion.id))
        .join(CompensationEntry, CompensationEntry.id == CompensationVersion.entry_id)
        .where(of_incident(incident.id))
    ) or 0
    return {
        "policy_version": result["policy_version"],
        "final": result["final"],
        "subscribers_credited": totals["credited_subscribers"],
        "economic_credit_fen": int(Decimal(totals["economic_credit"]) * 100),
        "data_credit_gb": totals["data_credit_gb"],
        "disputes": disputes,
    }


def compensation_paid_fen(incident_ids: list[int]) -> int:
    """Economic credit booked by the final ledgers of these incidents, each entry at its CURRENT
    figure: an approved adjustment replaces the computed one, as in billing and the report's totals."""
    paid = 0
    for incident_id in incident_ids:
        if engine.is_final(incident_id):
            rows = ledger.final_rows(incident_id).order_by(None).subquery()
            paid += db.session.scalar(select(func.coalesce(func.sum(rows.c.economic_credit_fen), 0)))
    return int(paid)


def rectification_items(incident: Incident) -> list[dict]:
    items = db.session.scalars(
        select(RectificationItem).where(RectificationItem.incident_id == incident.id).order_by(RectificationItem.id)
    ).all()
    zone = current_policy().zone
    today = utcnow().astimezone(zone).date()
    return [
        {
            "title": item.title,
            "owner": item.owner,
            "state": accountability.rectification_state(item, today),
            "due_at": datetime.combine(item.due_date, time(23, 59), tzinfo=zone),
            "done_at": item.completed_at,
        }
        for item in items
    ]
