"""Human-readable numbers PREFIX-YYYYMMDD-NNNN, counted per day in the operator's zone."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Table
from app.extensions import db
from app.sql import dialect_insert


def next_daily_number(counters: Table, prefix: str, moment: datetime, zone) -> str:
    """Bump the day's counter in ``counters`` (columns ``day``, ``last_value``) in one atomic
    upsert, so concurrent registrations never collide."""
    day: date = moment.astimezone(zone).date()
    statement = (
        dialect_insert(counters)
        .values(day=day, last_value=1)
        .on_conflict_do_update(index_elements=[counters.c.day], set_={"last_value": counters.c.last_value + 1})
        .returning(counters.c.last_value)
    )
    value = db.session.execute(statement).scalar_one()
    return f"{prefix}-{day:%Y%m%d}-{value:04d}"
