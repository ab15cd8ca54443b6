"""What the analysis report reads from the public side (its shape: app/reports/providers.py)."""
from __future__ import annotations

from app.incidents.models import Incident
from app.public import lookup_counts


def status_lookups(incident: Incident) -> dict:
    """"Is my line affected?" lookups made while the incident was on the status page."""
    return lookup_counts.incident_totals(incident.id)
