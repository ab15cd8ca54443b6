"""Every lookup counted: per day, and per incident per day (for the analysis report).

A lookup is asked for before anyone knows which incident it is about, so a request counts for
every incident on the status page at that moment (``requested``); a verified answer counts for
those again (``verified``) and, separately, for the incidents that affect the subscriber
(``affected``). Each count is one upsert; nothing is read back.
"""
from __future__ import annotations

import functools
from datetime import date, datetime

from sqlalchemy import Date, bindparam, func, select

from app.extensions import db
from app.public.models import StatusLookupDay, StatusLookupIncidentDay
from app.policy import Policy
from app.sql import dialect_insert


def local_day(now: datetime, policy: Policy) -> date:
    return now.astimezone(policy.zone).date()


@functools.cache
def _count_day(dialect: str, column: str):
    """Built once per database and column: bound parameters only, compiled once."""
    table = StatusLookupDay.__table__
    values = {"day": bindparam("day", type_=Date()), "requested": 0, "verified": 0, "rate_limited": 0, column: 1}
    return dialect_insert(table).values(values).on_conflict_do_update(
        index_elements=["day"], set_={column: table.c[column] + 1})


def count_day(day: date, column: str) -> None:
    db.session.execute(_count_day(db.session.get_bind().dialect.name, column), {"day": day})


def count_incidents(day: date, incident_ids: list[int], column: str) -> None:
    if not incident_ids:
        return
    table = StatusLookupIncidentDay.__table__
    rows = [{"incident_id": i, "day": day, "requested": 0, "verified": 0, "affected": 0, column: 1}
            for i in sorted(set(incident_ids))]   # sorted: concurrent lookups lock rows in one order
    statement = dialect_insert(table).values(rows)
    db.session.execute(statement.on_conflict_do_update(index_elements=["incident_id", "day"],
                                                       set_={column: table.c[column] + 1}))


def incident_totals(incident_id: int) -> dict:
    """The lookups of one incident: totals and per day (the report's feed)."""
    t = StatusLookupIncidentDay
    rows = db.session.execute(select(t.day, t.requested, t.verified, t.affected)
                              .where(t.incident_id == incident_id).order_by(t.day)).all()
    by_day = [{"day": row.day.isoformat(), "requested": row.requested, "verified": row.verified,
               "affected": row.affected} for row in rows]
    return {key: sum(day[key] for day in by_day) for key in ("requested", "verified", "affected")} | {"by_day": by_day}


def days(since: date, until: date) -> list[dict]:
    """Lookups per day in [since, until], days with none left out."""
    t = StatusLookupDay
    rows = db.session.execute(select(t.day, t.requested, t.verified, t.rate_limited)
                              .where(t.day.between(since, until)).order_by(t.day)).all()
    return [{"day": row.day.isoformat(), "requested": row.requested, "verified": row.verified,
             "rate_limited": row.rate_limited} for row in rows]


def busiest_incidents(since: date, until: date, limit: int = 20) -> list[dict]:
    """Incidents by lookups asked for (then answers that found subscribers affected) in [since, until], most first (incident ids; the caller names them)."""
    t = StatusLookupIncidentDay
    requested, affected = func.sum(t.requested), func.sum(t.affected)
    rows = db.session.execute(
        select(t.incident_id, requested.label("requested"), func.sum(t.verified).label("verified"),
               affected.label("affected"))
        .where(t.day.between(since, until)).group_by(t.incident_id)
        .order_by(requested.desc(), affected.desc(), t.incident_id).limit(limit)).all()
    return [{"incident_id": row.incident_id, "requested": int(row.requested), "verified": int(row.verified),
             "affected": int(row.affected)} for row in rows]
