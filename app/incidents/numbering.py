"""Human-readable, unique incident numbers: INC-YYYYMMDD-NNNN, by day in the operator's zone."""
from __future__ import annotations

from datetime import datetime

from app.daily_numbers import next_daily_number
from app.incidents.models import IncidentNumberCounter


def next_incident_number(moment: datetime, zone) -> str:
    return next_daily_number(IncidentNumberCounter.__table__, "INC", moment, zone)
