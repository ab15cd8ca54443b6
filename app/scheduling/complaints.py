"""Deadline records of complaints (RULES §8), in the same table and under the same judge as
the incidents' (warnings, breaches, escalation, exactly once across restarts).

The complaints domain computes each limit (hours, or working days on the PRC calendar) and
calls these functions explicitly from its own unit of work; they never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Select, String, and_, case, cast, exists, func, insert, literal, null, or_, select, update

from app.clock import ensure_aware_utc, utcnow
from app.extensions import db
from app.models import record_policy_version
from app.policy import Policy, current_policy
from app.scheduling import judge
from app.scheduling.models import ComplaintDeadlineKind, Deadline, DeadlineState
from app.scheduling.service import _mark_changed, describe

PENDING = DeadlineState.pending.value
MET = DeadlineState.met.value
BREACHED = DeadlineState.breached.value
CANCELLED = DeadlineState.cancelled.value
KIND_ORDER = {kind.value: index for index, kind in enumerate(ComplaintDeadlineKind)}


@dataclass(frozen=True)
class Limit:
    kind: ComplaintDeadlineKind
    starts_at: datetime
    due_at: datetime


def schedule(complaint_id: int, limits: list[Limit], policy: Policy | None = None) -> list[Deadline]:
    """Add the complaint's deadlines for ``limits`` (a kind it already has is left as it is)."""
    policy = policy or current_policy()
    version = record_policy_version(policy)
    now = utcnow()
    existing = set(db.session.scalars(select(Deadline.kind).where(Deadline.complaint_id == complaint_id)))
    fraction = policy.escalation["warning_fraction"]
    created = [
        Deadline(complaint_id=complaint_id, kind=limit.kind.value, starts_at=limit.starts_at, due_at=limit.due_at,
                 warn_at=limit.starts_at + (limit.due_at - limit.starts_at) * fraction,
                 escalate_at=limit.due_at + policy.next_tier_after, state=PENDING, policy_version=version,
                 created_at=now, updated_at=now)
        for limit in limits if limit.kind.value not in existing
    ]
    db.session.add_all(created)
    _mark_changed()
    return created


def schedule_many(complaint_ids: Select, limit: Limit, policy: Policy | None = None) -> int:
    """Set-based :func:`schedule`: the same limit for every complaint id the SELECT yields, one INSERT … SELECT."""
    policy = policy or current_policy()
    version = record_policy_version(policy)
    now = utcnow()
    fraction = policy.escalation["warning_fraction"]
    inner = complaint_ids.subquery()
    values = {
        "complaint_id": inner.c[0], "kind": limit.kind.value, "starts_at": limit.starts_at, "due_at": limit.due_at,
        "warn_at": limit.starts_at + (limit.due_at - limit.starts_at) * fraction,
        "escalate_at": limit.due_at + policy.next_tier_after, "state": PENDING, "policy_version": version,
        "created_at": now, "updated_at": now,
    }
    columns = [value if key == "complaint_id" else literal(value, Deadline.__table__.c[key].type)
               for key, value in values.items()]
    rows = select(*columns).select_from(inner).where(~exists().where(
        Deadline.complaint_id == inner.c[0], Deadline.kind == limit.kind.value))
    added = db.session.execute(insert(Deadline).from_select(list(values), rows)).rowcount
    _mark_changed()
    return added


def fulfil(complaint_id: int, kind: ComplaintDeadlineKind | str, at: datetime) -> str | None:
    """The complaint did what ``kind`` asks at ``at``: met on time, else breached (judged first if
    no judge has, so the breach is recorded and escalated exactly once). Idempotent; returns
    the resulting state, or None when there was no live deadline of that kind."""
    kind = ComplaintDeadlineKind(kind)
    at = ensure_aware_utc(at)
    row = db.session.execute(select(Deadline.id, Deadline.state, Deadline.due_at).where(
        Deadline.complaint_id == complaint_id, Deadline.kind == kind.value, Deadline.met_at.is_(None),
        Deadline.state.in_([PENDING, BREACHED]))).first()
    if row is None:
        return None
    on_time = at <= row.due_at
    if row.state == PENDING and not on_time:
        judge.breach_deadlines(utcnow(), only_ids=[row.id])
    state = MET if on_time else BREACHED
    changed = db.session.execute(
        update(Deadline).where(Deadline.id == row.id, Deadline.met_at.is_(None))
        .values(met_at=at, state=state, updated_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return None
    if not on_time:
        from app.complaints import timeline
        from app.complaints.timeline_kinds import ComplaintEventKind

        timeline.record(complaint_id, ComplaintEventKind.deadline_met_late, actor=None, message=_late_message(kind),
                        after={"kind": kind.value, "due_at": row.due_at.isoformat(), "met_at": at.isoformat()})
    _mark_changed()
    return state


def _late_message(kind: ComplaintDeadlineKind) -> str:
    return f"{kind.label}时限已超时，现已完成 ({kind.value} met late)"


def fulfil_many(complaint_ids: Select, kind: ComplaintDeadlineKind | str, at: datetime) -> int:
    """Set-based :func:`fulfil` for every complaint id the one-column SELECT yields; returns how many."""
    kind = ComplaintDeadlineKind(kind)
    at = ensure_aware_utc(at)
    mine = and_(Deadline.complaint_id.in_(complaint_ids), Deadline.kind == kind.value, Deadline.met_at.is_(None))
    late_unjudged = list(db.session.scalars(select(Deadline.id).where(mine, Deadline.state == PENDING,
                                                                      Deadline.due_at < at)))
    if late_unjudged:
        judge.breach_deadlines(utcnow(), only_ids=late_unjudged)
    late = select(Deadline.complaint_id, Deadline.due_at).where(mine, Deadline.state == BREACHED).subquery()
    _record_late(late, kind, at)
    changed = db.session.execute(
        update(Deadline).where(mine, Deadline.state.in_([PENDING, BREACHED]))
        .values(met_at=at, state=case((Deadline.due_at >= at, MET), else_=BREACHED), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        _mark_changed()
    return changed


def _record_late(late, kind: ComplaintDeadlineKind, at: datetime) -> None:
    from app.complaints import timeline
    from app.complaints.timeline_kinds import ComplaintEventKind

    timeline.record_from_select(select(
        late.c.complaint_id, literal(ComplaintEventKind.deadline_met_late.value, String()).label("kind"),
        literal(_late_message(kind), String()).label("message"),
        cast(null(), JSON).label("after"),
    ).where(late.c.due_at < at))


def cancel_pending(complaint_id: int, kinds: list[ComplaintDeadlineKind]) -> int:
    """Limits that no longer apply (e.g. a complaint closed without appeal review): stop them."""
    now = utcnow()
    cancelled = db.session.execute(
        update(Deadline).where(Deadline.complaint_id == complaint_id, Deadline.state == PENDING,
                               Deadline.kind.in_([k.value for k in kinds]))
        .values(state=CANCELLED, cancelled_at=now, updated_at=now).execution_options(synchronize_session=False)
    ).rowcount
    _mark_changed()
    return cancelled


def deadlines_of(complaint_id: int) -> list[Deadline]:
    rows = db.session.scalars(select(Deadline).where(Deadline.complaint_id == complaint_id)).all()
    return sorted(rows, key=lambda d: (KIND_ORDER[d.kind], d.due_at))


def deadlines_for_api(complaint_id: int) -> list[dict[str, Any]]:
    now = utcnow()
    return [describe(d, now) for d in deadlines_of(complaint_id)]


def overdue_filter(complaint_id_column, now: datetime | None = None):
    """WHERE clause: the complaint has a limit breached and still unmet, or pending past its due time."""
    now = now or utcnow()
    return exists().where(Deadline.complaint_id == complaint_id_column, or_(
        and_(Deadline.state == BREACHED, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)),
        and_(Deadline.state == PENDING, Deadline.due_at <= now)))


def next_due_at(complaint_id_column):
    """Correlated scalar: the complaint's earliest pending due time (for ordering boards)."""
    return (select(func.min(Deadline.due_at))
            .where(Deadline.complaint_id == complaint_id_column, Deadline.state == PENDING)
            .scalar_subquery())


def board_cells(complaint_ids: list[int], now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """For a page of complaints, in one query: the next pending due time and whether any limit is overdue."""
    now = now or utcnow()
    if not complaint_ids:
        return {}
    overdue = or_(and_(Deadline.state == BREACHED, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)),
                  and_(Deadline.state == PENDING, Deadline.due_at <= now))
    rows = db.session.execute(
        select(Deadline.complaint_id, func.min(case((Deadline.state == PENDING, Deadline.due_at))),
               func.max(case((overdue, 1), else_=0)))
        .where(Deadline.complaint_id.in_(complaint_ids)).group_by(Deadline.complaint_id))
    return {row[0]: {"next_due_at": row[1], "overdue": bool(row[2])} for row in rows}


def outcomes(complaint_ids: Select) -> list[Any]:
    """Per kind: how many deadlines were met, breached, pending or cancelled, for the measures."""
    return db.session.execute(
        select(Deadline.kind, Deadline.state, func.count())
        .where(Deadline.complaint_id.in_(complaint_ids)).group_by(Deadline.kind, Deadline.state)
    ).all()
