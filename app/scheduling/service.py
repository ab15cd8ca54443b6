"""Deadline records: create, fulfil, cancel and re-compute them; read them for the API.

Only this package writes deadline rows. Every function here runs inside the caller's
transaction (the incident transition that caused it) and never commits, so a deadline
changes together with the incident or not at all.

Other domains fulfil the deadlines they own through :func:`fulfil`:

- the SMS notifier, when the recovery notice is handed over for sending:
  ``fulfil(incident, "recovery_notice", handed_over_at)``; for the formal notice of a
  major interruption: ``fulfil(incident, "formal_notice", handed_over_at)``;
- the reports domain, when the analysis report is submitted, right after
  ``incidents.service.mark_analysis_report_submitted``:
  ``fulfil(incident, "analysis_report", incident.analysis_report_submitted_at)``.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, exists, insert, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.clock import ensure_aware_utc, utcnow
from app.extensions import db
from app.incidents.locks import lock_incidents
from app.incidents import timeline
from app.incidents.timeline_kinds import EventKind
from app.incidents.models import Incident
from app.models import record_policy_version
from app.policy import Policy, current_policy
from app.scheduling import judge
from app.scheduling.models import LABELS_BY_VALUE, Deadline, DeadlineKind, DeadlineState
from app.scheduling.windows import FROM_DETECTION, FROM_RECOVERY, MAJOR_ONLY, Window, applicable_kinds, window_for

log = logging.getLogger(__name__)

PENDING = DeadlineState.pending.value
MET = DeadlineState.met.value
BREACHED = DeadlineState.breached.value
CANCELLED = DeadlineState.cancelled.value
KIND_ORDER = {kind.value: index for index, kind in enumerate(DeadlineKind)}
# Tells the in-process scheduler, after the commit, that its next wake-up may have moved.
CHANGED_FLAG = "noc_deadlines_changed"
# A list page's deadlines, read in one query (preload_deadlines) and kept for the session's
# life, so its rows do not each query their own; any deadline write drops them.
PRELOADED = "noc_deadlines_preloaded"


def _mark_changed() -> None:
    db.session.info[CHANGED_FLAG] = True
    db.session.info.pop(PRELOADED, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_preloaded(session: Session) -> None:
    """Preloaded rows describe one transaction's view; a session used on (a worker's, a test's) re-reads."""
    session.info.pop(PRELOADED, None)


def fulfilment_time(incident: Incident, kind: DeadlineKind) -> datetime | None:
    """When the incident already did what ``kind`` asks (notices are reported by the notifier)."""
    return {
        DeadlineKind.report: incident.reported_at,
        DeadlineKind.emergency_response: incident.emergency_response_at,
        DeadlineKind.response: incident.responded_at,
        DeadlineKind.recovery: incident.recovered_at,
        DeadlineKind.analysis_report: incident.analysis_report_submitted_at,
    }.get(kind)


def _new_deadline(incident: Incident, window: Window, policy_version: str, now: datetime) -> Deadline:
    return Deadline(
        incident_id=incident.id, kind=window.kind.value, starts_at=window.starts_at, due_at=window.due_at,
        warn_at=window.warn_at, escalate_at=window.escalate_at, state=PENDING, policy_version=policy_version,
        created_at=now, updated_at=now,
    )


def create_deadlines(incident: Incident, kinds: tuple[DeadlineKind, ...], policy: Policy | None = None, *,
                     fresh: bool = False) -> list[str]:
    """Add the deadlines of ``kinds`` that apply to this incident (major-only kinds only when major).

    ``fresh``: the incident was inserted in this transaction, so it has no deadlines yet (the
    declaration skips the read). One INSERT for all of them, on both databases; returns the kinds added."""
    policy = policy or current_policy()
    version = record_policy_version(policy)
    now = utcnow()
    existing = set() if fresh else set(db.session.scalars(select(Deadline.kind).where(Deadline.incident_id == incident.id)))
    wanted = [k for k in kinds if k in applicable_kinds(incident) and k.value not in existing]
    rows = [_deadline_row(incident, window_for(incident, kind, policy), version, now) for kind in wanted]
    if rows:
        # Core, not ORM objects: nobody reads them back in this transaction, and the ORM would send
        # one INSERT … RETURNING per row on SQLite.
        db.session.execute(insert(Deadline), rows)
    _mark_changed()
    return [row["kind"] for row in rows]


def _deadline_row(incident: Incident, window: Window, policy_version: str, now: datetime) -> dict[str, Any]:
    return {"incident_id": incident.id, "kind": window.kind.value, "starts_at": window.starts_at,
            "due_at": window.due_at, "warn_at": window.warn_at, "escalate_at": window.escalate_at, "state": PENDING,
            "policy_version": policy_version, "created_at": now, "updated_at": now}


def fulfil(incident: Incident, kind: DeadlineKind | str, at: datetime) -> str | None:
    """Record that ``incident`` did what deadline ``kind`` asks, at ``at``. Idempotent.

    On time (``at`` <= due) the deadline becomes ``met``. Late, it stays (or becomes)
    ``breached`` and keeps ``met_at`` so lateness is ``met_at - due_at``; a late fulfilment
    of a deadline no scheduler has judged yet is judged here first, so its breach is
    recorded and escalated exactly once. Returns the resulting state, or None when the
    incident has no such live deadline (cancelled, already fulfilled, or not owed).
    Runs in the caller's transaction; does not commit.
    """
    kind = DeadlineKind(kind)
    at = ensure_aware_utc(at)
    # The one lock order, incident then deadlines: a no-op inside a transition (it holds the
    # incident already), the first lock for the notifier's fulfilment.
    lock_incidents([incident.id])
    row = db.session.execute(
        select(Deadline.id, Deadline.state, Deadline.due_at, Deadline.met_at)
        .where(Deadline.incident_id == incident.id, Deadline.kind == kind.value)
    ).first()
    if row is None or row.state == CANCELLED or row.met_at is not None:
        return None
    on_time = at <= row.due_at
    if row.state == PENDING and not on_time:
        judge.breach_deadlines(utcnow(), only_ids=[row.id])
    now = utcnow()
    result = db.session.execute(
        update(Deadline)
        .where(Deadline.id == row.id, Deadline.met_at.is_(None), Deadline.state.in_([PENDING, BREACHED]))
        .values(met_at=at, state=MET if on_time else BREACHED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return None
    label = kind.label
    if not on_time:
        late_minutes = int((at - row.due_at).total_seconds() // 60)
        timeline.record(incident, EventKind.deadline_met_late, actor=None,
                        message=f"{label}时限已超时，迟 {late_minutes} 分钟完成 ({kind.value} met {late_minutes} min late)",
                        after={"kind": kind.value, "due_at": row.due_at.isoformat(), "met_at": at.isoformat()})
    elif row.state == BREACHED:
        # The act happened in time but was recorded after a judge had breached it
        # (e.g. a back-dated recovery): the attested time wins.
        timeline.record(incident, EventKind.deadline_breach_withdrawn, actor=None,
                        message=f"{label}于时限内完成，撤销超时判定 (done in time; breach withdrawn)",
                        after={"kind": kind.value, "due_at": row.due_at.isoformat(), "met_at": at.isoformat()})
    _mark_changed()
    return MET if on_time else BREACHED


def cancel_all(incident: Incident) -> int:
    """The incident was cancelled (误报撤销): pending deadlines stop, breached ones stop escalating."""
    now = utcnow()
    cancelled = db.session.execute(
        update(Deadline).where(Deadline.incident_id == incident.id, Deadline.state == PENDING)
        .values(state=CANCELLED, cancelled_at=now, updated_at=now).execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        update(Deadline).where(Deadline.incident_id == incident.id, Deadline.state == BREACHED,
                               Deadline.cancelled_at.is_(None))
        .values(cancelled_at=now, updated_at=now).execution_options(synchronize_session=False)
    )
    _mark_changed()
    return cancelled


def recompute(incident: Incident, actor: User | None, policy: Policy | None = None) -> dict[str, Any]:
    """After a regrade or a change of the major flag: pending deadlines move to the new grade's
    windows from the original start; major-only kinds are added or cancelled; met and breached
    deadlines keep their outcome. The timeline records what moved."""
    policy = policy or current_policy()
    version = record_policy_version(policy)
    now = utcnow()
    rows = {d.kind: d for d in db.session.scalars(
        select(Deadline).where(Deadline.incident_id == incident.id).with_for_update())}
    wanted = applicable_kinds(incident)
    moved: dict[str, dict[str, str]] = {}
    added: list[Deadline] = []
    dropped: list[str] = []
    for kind in wanted:
        window = window_for(incident, kind, policy)
        row = rows.get(kind.value)
        if row is None:
            row = _new_deadline(incident, window, version, now)
            db.session.add(row)
            added.append(row)
        elif row.state == CANCELLED and kind in MAJOR_ONLY:
            _apply_window(row, window, version, now)
            row.state, row.cancelled_at = PENDING, None
            added.append(row)
        elif row.state == PENDING and (row.due_at != window.due_at or row.policy_version != version):
            if row.due_at != window.due_at:
                moved[kind.value] = {"from": row.due_at.isoformat(), "to": window.due_at.isoformat()}
            _apply_window(row, window, version, now)
    for kind_value, row in rows.items():
        if DeadlineKind(kind_value) not in wanted and row.state == PENDING:
            row.state, row.cancelled_at, row.updated_at = CANCELLED, now, now
            dropped.append(kind_value)
    db.session.flush()
    for row in added:
        done_at = fulfilment_time(incident, DeadlineKind(row.kind))
        if done_at is not None:
            fulfil(incident, row.kind, done_at)
    change = {"moved": moved, "added": {d.kind: d.due_at.isoformat() for d in added}, "cancelled": dropped}
    if moved or added or dropped:
        parts = [f"{DeadlineKind(k).label}时限调整" for k in moved]
        parts += [f"新增{DeadlineKind(d.kind).label}时限" for d in added]
        parts += [f"取消{DeadlineKind(k).label}时限" for k in dropped]
        timeline.record(incident, EventKind.deadlines_recomputed, actor=actor,
                        message="；".join(parts) + " (deadlines re-computed from the original time)",
                        before={k: v["from"] for k, v in moved.items()},
                        after={"moved": {k: v["to"] for k, v in moved.items()}, "added": change["added"],
                               "cancelled": dropped, "policy_version": version})
        _mark_changed()
    return change


def _apply_window(row: Deadline, window: Window, version: str, now: datetime) -> None:
    row.starts_at, row.due_at, row.escalate_at = window.starts_at, window.due_at, window.escalate_at
    if row.warn_at != window.warn_at and window.warn_at > now:
        row.warned_at = None  # a warning given for the old due time is given again for the new one
    row.warn_at = window.warn_at
    row.policy_version, row.updated_at = version, now


# --- reading, for the API -------------------------------------------------------------

def window_exceeded(incident: Incident, kind: DeadlineKind | str, at: datetime) -> bool | None:
    """Was (or, judged at ``at``, is) the ``kind`` window exceeded? None when there is no such deadline.

    The deadline table is the authority other domains ask (e.g. the compensation
    multiplier), so a regrade's re-computed due time counts everywhere alike.
    """
    row = db.session.execute(
        select(Deadline.state, Deadline.due_at)
        .where(Deadline.incident_id == incident.id, Deadline.kind == DeadlineKind(kind).value)
    ).first()
    if row is None:
        return None
    if row.state in (BREACHED, MET):
        return row.state == BREACHED
    return ensure_aware_utc(at) > row.due_at


def fulfilled_at(incident: Incident, kind: DeadlineKind | str) -> datetime | None:
    """When ``incident`` did what deadline ``kind`` asks (on time or late), or None."""
    return db.session.scalar(select(Deadline.met_at).where(
        Deadline.incident_id == incident.id, Deadline.kind == DeadlineKind(kind).value))


def _in_order(rows) -> list[Deadline]:
    return sorted(rows, key=lambda d: (KIND_ORDER[d.kind], d.due_at))


def preload_deadlines(incident_ids: list[int]) -> None:
    """Read the deadlines of a page of incidents in one query, for :func:`deadlines_of` to answer from."""
    by_incident: dict[int, list[Deadline]] = {incident_id: [] for incident_id in incident_ids}
    if incident_ids:
        for row in db.session.scalars(select(Deadline).where(Deadline.incident_id.in_(incident_ids))):
            by_incident[row.incident_id].append(row)
    db.session.info.setdefault(PRELOADED, {}).update({k: _in_order(v) for k, v in by_incident.items()})


def deadlines_of(incident_id: int) -> list[Deadline]:
    preloaded = db.session.info.get(PRELOADED, {}).get(incident_id)
    if preloaded is not None:
        return preloaded
    return _in_order(db.session.scalars(select(Deadline).where(Deadline.incident_id == incident_id)))


def describe(deadline: Deadline, now: datetime | None = None) -> dict[str, Any]:
    """A deadline as the API shows it, with how late it is or how much time is left."""
    now = now or utcnow()
    seconds_left = seconds_late = None
    if deadline.state == PENDING:
        seconds_left = int((deadline.due_at - now).total_seconds())
    elif deadline.state == BREACHED:
        seconds_late = int(((deadline.met_at or now) - deadline.due_at).total_seconds())
    return {
        "kind": deadline.kind, "label": LABELS_BY_VALUE[deadline.kind], "starts_at": deadline.starts_at,
        "due_at": deadline.due_at, "state": deadline.state, "met_at": deadline.met_at,
        "breached_at": deadline.breached_at, "warned_at": deadline.warned_at, "escalated_at": deadline.escalated_at,
        "seconds_left": seconds_left, "seconds_late": seconds_late, "policy_version": deadline.policy_version,
    }


def deadlines_for_api(incident: Incident) -> list[dict[str, Any]]:
    now = utcnow()
    return [describe(d, now) for d in deadlines_of(incident.id)]


def next_due_for_api(incident: Incident) -> dict[str, Any] | None:
    """The next pending deadline of an open incident, with the time left; None when nothing is pending."""
    if not incident.is_open:
        return None
    pending = [d for d in deadlines_of(incident.id) if d.state == PENDING]
    if not pending:
        return None
    deadline = min(pending, key=lambda d: (d.due_at, d.id))
    described = describe(deadline)
    return {key: described[key] for key in ("kind", "label", "due_at", "seconds_left")}


def next_due_column(incident_id_column):
    """The due time of an incident's next pending deadline (NULL when none), for ordering lists."""
    from sqlalchemy import func

    return (select(func.min(Deadline.due_at)).where(Deadline.incident_id == incident_id_column,
                                                    Deadline.state == PENDING).scalar_subquery())


def breached_filter(incident_id_column, breached: bool):
    """A WHERE clause for incident lists: has (or has not) at least one breached deadline."""
    clause = exists().where(Deadline.incident_id == incident_id_column, Deadline.state == BREACHED)
    return clause if breached else ~clause


def change_marker(incident_id: int | None = None) -> str:
    """Changes when a deadline is met, moved or cancelled without a timeline event of its own
    (e.g. the recovery notice handed over): the pending count, or one incident's newest write."""
    from sqlalchemy import func

    if incident_id is None:
        pending = db.session.scalar(select(func.count()).select_from(Deadline).where(Deadline.state == PENDING))
        return str(pending or 0)
    newest, count = db.session.execute(select(func.max(Deadline.updated_at), func.count())
                                       .where(Deadline.incident_id == incident_id)).one()
    return f"{newest.timestamp() if newest else 0}.{count}"


def overdue_unjudged(grace: timedelta = timedelta(seconds=60)) -> int:
    """Pending deadlines overdue by more than ``grace``: non-zero means no scheduler is judging."""
    from sqlalchemy import func

    return db.session.scalar(
        select(func.count()).select_from(Deadline).where(Deadline.state == PENDING, Deadline.due_at <= utcnow() - grace)
    ) or 0


__all__ = ["create_deadlines", "fulfil", "cancel_all", "recompute", "deadlines_for_api", "next_due_for_api",
           "preload_deadlines", "next_due_column", "breached_filter", "FROM_DETECTION", "FROM_RECOVERY"]
