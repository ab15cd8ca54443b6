"""What the analysis report reads from the deadline table (its shapes: app/reports/providers.py)."""
from __future__ import annotations

from app.incidents.models import Incident
from app.scheduling.service import deadlines_of


def deadline_rows(incident: Incident) -> list[dict]:
    return [
        {"kind": d.kind, "due_at": d.due_at, "state": d.state, "met_at": d.met_at, "breached_at": d.breached_at}
        for d in deadlines_of(incident.id)
    ]
