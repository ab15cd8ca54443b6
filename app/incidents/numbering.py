"""Human-readable, unique incident numbers: INC-YYYYMMDD-NNNN, by day in the operator's zone."""
from __future__ import annotations

from datetime import date, datetime

from app.extensions import db
from app.incidents.models import IncidentNumberCounter
from app.sql import dialect_insert


def next_incident_number(moment: datetime, zone) -> str:
    """Bump the day's counter in one atomic upsert, so concurrent declarations never collide."""
    day: date = moment.astimezone(zone).date()
    table = IncidentNumberCounter.__table__
    statement = (
        dialect_insert(table)
        .values(day=day, last_value=1)
        .on_conflict_do_update(index_elements=[table.c.day], set_={"last_value": table.c.last_value + 1})
        .returning(table.c.last_value)
    )
    value = db.session.execute(statement).scalar_one()
    return f"INC-{day:%Y%m%d}-{value:04d}"
