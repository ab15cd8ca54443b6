"""Measures (考核, RULES §8) over the complaints received in a period: on-time rate per limit
against the policy's target, satisfaction, repeat rate, complaints per incident — overall and
by agent, category, grade and month. A few grouped queries, whatever the number of complaints.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any, Iterator

from sqlalchemy import Integer, case, cast, func, select

from app.auth.models import User
from app.clock import ensure_aware_utc, utcnow
from app.complaints.models import Complaint
from app.errors import InvalidInput
from app.extensions import db
from app.incidents.models import Incident
from app.phones import mask
from app.policy import Policy, current_policy
from app.scheduling.models import ComplaintDeadlineKind, Deadline, DeadlineState

DEFAULT_PERIOD = timedelta(days=30)  # the default window of the measures
MET, BREACHED = DeadlineState.met.value, DeadlineState.breached.value


def period(start: datetime | None, end: datetime | None, policy: Policy) -> tuple[datetime, datetime]:
    """[start, end); by default the 30 days up to the end of today (policy zone)."""
    if end is None:
        tomorrow = utcnow().astimezone(policy.zone).date() + timedelta(days=1)
        end = datetime.combine(tomorrow, datetime.min.time(), tzinfo=policy.zone)
    end = ensure_aware_utc(end)
    start = ensure_aware_utc(start) if start else end - DEFAULT_PERIOD
    if start >= end:
        raise InvalidInput("from", "必须早于 to (must be before 'to')")
    return start, end


def _in_period(start: datetime, end: datetime):
    return (Complaint.received_at >= start) & (Complaint.received_at < end)


def _month(policy: Policy):
    """The month of received_at in the policy's zone, rendered by the database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(policy.zone.key, Complaint.received_at), "YYYY-MM")
    offset = int(utcnow().astimezone(policy.zone).utcoffset().total_seconds())  # no daylight saving in PRC zones
    return func.strftime("%Y-%m", Complaint.received_at, f"{offset:+d} seconds")


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _on_time(met: int, breached: int, target: int) -> dict[str, Any]:
    rate = _rate(met, met + breached)
    return {"met": met, "breached": breached, "on_time_rate": rate,
            "meets_target": None if rate is None else rate >= target}


def _limits(where, target: int) -> list[dict[str, Any]]:
    rows = dict(((kind, state), n) for kind, state, n in db.session.execute(
        select(Deadline.kind, Deadline.state, func.count()).join(Complaint, Complaint.id == Deadline.complaint_id)
        .where(where).group_by(Deadline.kind, Deadline.state)))
    return [{"kind": kind.value, **_on_time(rows.get((kind.value, MET), 0), rows.get((kind.value, BREACHED), 0), target),
             "pending": rows.get((kind.value, DeadlineState.pending.value), 0)}
            for kind in ComplaintDeadlineKind]


def _grouped(dimension, where, target: int, join_owner: bool = False) -> list[dict[str, Any]]:
    """Per value of ``dimension``: complaints, repeats, mean satisfaction, on-time over all their limits."""
    counts = select(dimension.label("key"), func.count().label("complaints"),
                    func.sum(cast(Complaint.repeat, Integer)).label("repeats"),
                    func.avg(Complaint.satisfaction).label("satisfaction")).where(where)
    limits = (select(dimension.label("key"), func.sum(case((Deadline.state == MET, 1), else_=0)).label("met"),
                     func.sum(case((Deadline.state == BREACHED, 1), else_=0)).label("breached"))
              .select_from(Complaint).join(Deadline, Deadline.complaint_id == Complaint.id).where(where))
    if join_owner:
        counts, limits = counts.join(User, User.id == Complaint.owner_id), limits.join(User, User.id == Complaint.owner_id)
    judged = {row.key: row for row in db.session.execute(limits.group_by(dimension))}
    rows = []
    for row in db.session.execute(counts.group_by(dimension).order_by(dimension)):
        decided = judged.get(row.key)
        rows.append({"key": str(row.key), "complaints": row.complaints, "repeat_rate": _rate(row.repeats or 0, row.complaints),
                     "satisfaction": round(float(row.satisfaction), 2) if row.satisfaction is not None else None,
                     **_on_time(int(decided.met or 0) if decided else 0, int(decided.breached or 0) if decided else 0, target)})
    return rows


def summary(start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    policy = current_policy()
    start, end = period(start, end, policy)
    where = _in_period(start, end)
    target = policy.complaints["on_time_target_percent"]
    totals = db.session.execute(select(
        func.count(), func.sum(cast(Complaint.repeat, Integer)), func.avg(Complaint.satisfaction),
        func.count(Complaint.satisfaction), func.count(Complaint.incident_id), func.count(Complaint.incident_id.distinct()),
    ).where(where)).one()
    total, repeats, satisfaction, rated, linked, incidents = totals
    return {
        "from": start, "to": end, "policy_version": policy.version, "on_time_target_percent": target,
        "complaints": total, "repeat_rate": _rate(repeats or 0, total),
        "satisfaction": {"replies": rated, "mean": round(float(satisfaction), 2) if satisfaction is not None else None},
        "linked_to_incidents": linked, "incidents": incidents,
        "complaints_per_incident": round(linked / incidents, 2) if incidents else None,
        "limits": _limits(where, target),
        "by_category": _grouped(Complaint.category, where, target),
        "by_grade": _grouped(Complaint.grade, where, target),
        "by_agent": _grouped(User.name, where, target, join_owner=True),
        "by_month": _grouped(_month(policy), where, target),
    }


CSV_COLUMNS = ["number", "received_at", "channel", "category", "grade", "status", "phone", "owner", "incident",
               "repeat", "urgent", "satisfaction", "limits_breached"]


def export_csv(start: datetime | None = None, end: datetime | None = None) -> Iterator[str]:
    """The period's complaints for the quality team, phones masked (personal data, RULES §8).
    The period is checked here, before the response starts streaming."""
    policy = current_policy()
    start, end = period(start, end, policy)
    return _csv_rows(start, end, policy)


def _csv_rows(start: datetime, end: datetime, policy: Policy) -> Iterator[str]:
    breached = (select(func.count()).where(Deadline.complaint_id == Complaint.id, Deadline.state == BREACHED)
                .correlate(Complaint).scalar_subquery())
    rows = db.session.execute(
        select(Complaint.number, Complaint.received_at, Complaint.channel, Complaint.category, Complaint.grade,
               Complaint.status, Complaint.phone, User.name, Incident.number, Complaint.repeat, Complaint.urgent,
               Complaint.satisfaction, breached)
        .join(User, User.id == Complaint.owner_id).outerjoin(Incident, Incident.id == Complaint.incident_id)
        .where(_in_period(start, end)).order_by(Complaint.received_at, Complaint.id)
        .execution_options(yield_per=2000))
    yield "\ufeff" + _line(CSV_COLUMNS)
    for row in rows:
        values = list(row)
        values[1] = values[1].astimezone(policy.zone).strftime("%Y-%m-%d %H:%M")
        values[6] = mask(values[6])
        yield _line(["" if v is None else v for v in values])


def _line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()
