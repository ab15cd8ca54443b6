"""Judging deadlines: idempotent, set-based, exactly once.

Each step claims its rows with one conditional UPDATE (``… WHERE state = 'pending' AND
due_at <= now``); the timeline events and staff alerts of the claimed rows are written in
the same transaction. A second judge — a job that fires twice, a second process, a
restart after a crash — finds nothing left to claim, so nothing is judged twice, and a
crash before the commit leaves the rows pending for the next pass.
"""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import ARRAY, Integer, Select, String, any_, case, cast, func, literal, select, update

from app.clock import utcnow
from app.extensions import db
from app.incidents.locks import lock_incidents
from app.incidents import timeline
from app.incidents.models import Incident
from app.incidents.timeline_kinds import EventKind
from app.oncall import escalation
from app.oncall.models import ChainCause, Tier
from app.policy import current_policy
from app.scheduling.models import LABELS_BY_VALUE, Deadline, DeadlineState
from app.staff.models import StaffAlertKind
from app.staff.service import alert_on_call_duty_managers_from_select
from app.transactions import retry_on_conflict

log = logging.getLogger(__name__)

BATCH = 2000  # rows per transaction: keeps SQLite's write lock short for the web requests
# PostgreSQL locks rows, not the database: larger batches cost far fewer statements per row
# (a catch-up of 70,000 is 7 transactions, not 35) while a transition waits at most one batch.
BATCH_POSTGRESQL = 10_000
JUDGE_IDENTITY = f"{socket.gethostname()}:{os.getpid()}"
PENDING = DeadlineState.pending.value
BREACHED = DeadlineState.breached.value


@dataclass
class JudgeResult:
    breached: list[int] = field(default_factory=list)   # deadline ids
    warned: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    unacknowledged: list[int] = field(default_factory=list)  # warnings/breaches raised to the next roster tier
    called: list[int] = field(default_factory=list)          # tier 3 still silent: phoned

    def __bool__(self) -> bool:
        return bool(self.breached or self.warned or self.escalated or self.unacknowledged or self.called)


def default_batch() -> int:
    """Rows judged per transaction on this database (NOC_JUDGE_BATCH overrides it in the runner)."""
    return BATCH_POSTGRESQL if db.session.get_bind().dialect.name == "postgresql" else BATCH


def judge_due(now: datetime | None = None, *, batch: int | None = None) -> JudgeResult:
    """One full pass at ``now``: breaches, early warnings, tier-2 escalations, then unacknowledged
    warning and breach alerts to the next roster tier, and tier 3's voice calls.

    Commits each batch; safe to run concurrently with another judge or a transition.
    """
    now = now or utcnow()
    batch = batch or default_batch()
    result = JudgeResult()
    for step, bucket in ((breach_deadlines, result.breached), (warn_deadlines, result.warned),
                         (escalate_deadlines, result.escalated), (escalate_unacknowledged, result.unacknowledged),
                         (call_unacknowledged, result.called)):
        while True:
            claimed = _judge_batch(step, now, batch)
            bucket.extend(claimed)
            # Until a batch claims nothing: a short batch may only mean a concurrent judge
            # took some of its rows, not that none are left.
            if not claimed:
                break
    if result:
        log.info("judged at %s: %d breached, %d warned, %d escalated, %d unacknowledged to the next tier, "
                 "%d phoned", now.isoformat(), len(result.breached), len(result.warned), len(result.escalated),
                 len(result.unacknowledged), len(result.called))
    return result


@retry_on_conflict
def _judge_batch(step, now: datetime, batch: int) -> list[int]:
    try:
        claimed = step(now, limit=batch)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return claimed


class _Claimed(list):
    """The claimed deadline ids, and which owner columns (incident_id, complaint_id) they have:
    an owner none of them has gets no statements."""

    owner_columns: frozenset = frozenset()


def _claim(now: datetime, limit: int | None, conditions: Sequence, values: dict, only_ids: Iterable[int] | None):
    """Conditionally update up to ``limit`` rows matching ``conditions``; return the claimed ids.

    Locks in the one order (their incidents' rows, then the deadline rows, each in id order),
    so a transition on one of these incidents and this claim never deadlock.
    """
    dialect = db.session.get_bind().dialect.name
    candidates = select(Deadline.id).where(*conditions).order_by(Deadline.id)
    if only_ids is not None:
        candidates = candidates.where(Deadline.id.in_(list(only_ids)))
    else:
        candidates = candidates.limit(limit)
    # Look before writing: an UPDATE matching nothing still takes SQLite's write lock.
    ids = list(db.session.scalars(candidates))
    if not ids:
        return _Claimed()
    lock_incidents(select(Deadline.incident_id).where(_among(Deadline.id, ids, dialect)))
    ids = list(db.session.scalars(select(Deadline.id).where(_among(Deadline.id, ids, dialect), *conditions)
                                  .order_by(Deadline.id).with_for_update()))
    if not ids:
        return _Claimed()
    statement = (
        update(Deadline).where(_among(Deadline.id, ids, dialect), *conditions).values(**values, updated_at=now)
        .returning(Deadline.id, Deadline.incident_id, Deadline.complaint_id)
        .execution_options(synchronize_session=False)
    )
    claimed, columns = _Claimed(), set()
    for deadline_id, incident_id, complaint_id in db.session.execute(statement):
        claimed.append(deadline_id)
        columns |= {"incident_id"} if incident_id is not None else set()
        columns |= {"complaint_id"} if complaint_id is not None else set()
    claimed.owner_columns = frozenset(columns)
    return claimed


def breach_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Mark pending deadlines due by ``now`` as breached; timeline + tier-1 escalation for each."""
    ids = _claim(now, limit, [Deadline.state == PENDING, Deadline.due_at <= now],
                 {"state": BREACHED, "breached_at": now}, only_ids)
    _announce(ids, now, event=EventKind.deadline_breached, alert=StaffAlertKind.deadline_breach, tier="tier1",
              text=("【超时】", "时限已于 ", " 到期未完成，请立即处理"), english="deadline breached")
    return ids


def warn_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Early warning at the policy's fraction of the window, once per due time."""
    ids = _claim(now, limit, [Deadline.state == PENDING, Deadline.warned_at.is_(None), Deadline.warn_at <= now,
                              Deadline.due_at > now], {"warned_at": now}, only_ids)
    _announce(ids, now, event=EventKind.deadline_warning, alert=StaffAlertKind.deadline_warning, tier="warning",
              text=("【预警】", "时限将于 ", " 到期"), english="deadline approaching")
    return ids


def escalate_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Next tier: a breached deadline still unmet ``next_tier_after`` its due time. Tier 2 is the breach
    chain's step (app/oncall/escalation.py): alerted here only where the unacknowledged climb has not
    raised it already, so tier 2 never gets both."""
    ids = _claim(now, limit, [Deadline.state == BREACHED, Deadline.met_at.is_(None), Deadline.escalated_at.is_(None),
                              Deadline.cancelled_at.is_(None), Deadline.escalate_at <= now],
                 {"escalated_at": now}, only_ids)
    if not ids:
        return ids
    dialect = db.session.get_bind().dialect.name
    raised = []
    for owner in _owners():
        if owner.owner_column not in ids.owner_columns:
            continue
        raised += escalation.raise_tier2_from_select(
            select(Deadline.id.label("deadline_id"), owner.incident_id.label("incident_id"))
            .join(owner.table, owner.table.id == owner.key).where(_among(Deadline.id, ids, dialect)), now)
    _announce(sorted(raised), now, event=EventKind.deadline_escalated, alert=StaffAlertKind.escalation_tier2, tier="tier2",
              text=("【二级升级】", "时限自 ", " 超时至今仍未完成"), english="deadline still unmet, escalated to the next tier")
    return ids


def open_deadlines() -> escalation.OpenDeadlines:
    """Ids of the deadlines whose escalation may go on: warned and still pending; breached and still
    unmet (neither cancelled)."""
    return escalation.OpenDeadlines(
        warned=select(Deadline.id).where(Deadline.state == PENDING, Deadline.warned_at.is_not(None),
                                         Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)),
        breached=select(Deadline.id).where(Deadline.state == BREACHED, Deadline.met_at.is_(None),
                                           Deadline.cancelled_at.is_(None)))


def escalate_unacknowledged(now: datetime, *, limit: int | None = BATCH) -> list[int]:
    """A warning or breach alert nobody acknowledged within the policy's minutes goes to the next roster tier."""
    return escalation.escalate_unacknowledged(now, open_deadlines(), limit=limit or BATCH)


def call_unacknowledged(now: datetime, *, limit: int | None = BATCH) -> list[int]:
    """Tier 3's SMS nobody acknowledged within the policy's minutes: a voice call to tier 3."""
    return escalation.call_unacknowledged(now, open_deadlines(), limit=limit or BATCH)


def _announce(ids: list[int], now: datetime, *, event: EventKind, alert: str, tier: str, text: tuple[str, str, str],
              english: str) -> None:
    """The timeline event and the duty-manager alert of each claimed deadline: two INSERT … SELECTs
    per kind of owner (incidents, complaints).

    Message: ``<prefix><number>「<title>」<kind label><middle><due, local time><suffix>``.
    """
    if not ids:
        return
    dialect = db.session.get_bind().dialect.name
    known = getattr(ids, "owner_columns", None)
    for owner in _owners():
        if known is not None and owner.owner_column not in known:
            continue  # none of these deadlines is this owner's: three statements saved
        _announce_for(owner, ids, now, dialect, event=event, alert=alert, tier=tier, text=text, english=english)


@dataclass(frozen=True)
class _Owner:
    """Who a deadline belongs to, for its messages: the row, how to name it, where its history goes."""

    table: Any
    key: Any            # Deadline's column pointing at the owner
    owner_column: str   # the history's column naming the owner
    title: Any          # SQL text naming the owner in messages
    incident_id: Any    # the incident a staff alert is filed under (a complaint's linked incident)
    record_from_select: Callable


def _owners() -> tuple[_Owner, ...]:
    from app.complaints import timeline as complaint_timeline
    from app.complaints.models import Complaint

    return (
        _Owner(Incident, Deadline.incident_id, "incident_id", Incident.number + "「" + Incident.title + "」",
               Deadline.incident_id, timeline.record_from_select),
        _Owner(Complaint, Deadline.complaint_id, "complaint_id", Complaint.number + "「投诉」",
               Complaint.incident_id, complaint_timeline.record_from_select),
    )


def _announce_for(owner: _Owner, ids: list[int], now: datetime, dialect: str, *, event: EventKind, alert: str, tier: str,
                  text: tuple[str, str, str], english: str) -> None:
    prefix, middle, suffix = text
    label = case(LABELS_BY_VALUE, value=Deadline.kind, else_=Deadline.kind)
    message = (literal(prefix, String()) + owner.title + label + middle
               + _local_time_text(Deadline.due_at, now, dialect) + suffix)
    claimed = (select(owner.key, Deadline.kind, Deadline.id, Deadline.due_at, message.label("message"))
               .join(owner.table, owner.table.id == owner.key).where(_among(Deadline.id, ids, dialect)))
    due_iso = _iso_utc(Deadline.due_at, dialect)
    owner.record_from_select(claimed.with_only_columns(
        owner.key.label(owner.owner_column), literal(event.value, String()).label("kind"),
        (message + " (" + Deadline.kind + " " + english + ")").label("message"),
        _json_object(dialect, kind=Deadline.kind, due_at=due_iso, at=literal(now.isoformat(), String()),
                     judged_by=literal(JUDGE_IDENTITY, String())).label("after"),
    ))
    # One dedupe key per (deadline, tier): a retried pass never alerts twice. Warnings also key
    # on the due time, so a deadline moved by a regrade is warned again for its new time.
    dedupe = literal("deadline:", String()) + cast(Deadline.id, String) + f":{tier}"
    # Warnings and breaches go to tier 1 on duty; the escalation still unmet after the interval to tier 2.
    roster_tier = Tier.department_head if tier == "tier2" else Tier.duty_manager
    if tier == "warning":
        dedupe = dedupe + ":" + due_iso
    alert_on_call_duty_managers_from_select(claimed.with_only_columns(
        owner.incident_id.label("incident_id"), literal(alert, String()).label("kind"), message.label("message"),
        dedupe.label("dedupe_key"),
    ), roster_tier)
    # A warning's or a breach's escalation chain starts at tier 1 (app/oncall/escalation.py; RULES §9).
    cause = {StaffAlertKind.deadline_breach: ChainCause.breach, StaffAlertKind.deadline_warning: ChainCause.warning}
    if alert in cause:
        escalation.open_chains_from_select(claimed.with_only_columns(
            Deadline.id.label("deadline_id"), owner.incident_id.label("incident_id")), now, cause[alert])


def _among(column, ids: list[int], dialect: str):
    # PostgreSQL: one array parameter (= ANY) plans as an index lookup whatever the table's
    # statistics say; a 2,000-term IN list on a freshly filled table was planned as a scan.
    if dialect == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)



def _local_time_text(column, now: datetime, dialect: str):
    """The due time as the console shows it, in the policy's zone, rendered by the database."""
    zone = current_policy().zone
    if dialect == "postgresql":
        return func.to_char(func.timezone(zone.key, column), "YYYY-MM-DD HH24:MI:SS")
    # SQLite stores naive UTC: shift by the zone's offset (Asia/Shanghai has no daylight saving).
    offset = int(now.astimezone(zone).utcoffset().total_seconds())
    return func.strftime("%Y-%m-%d %H:%M:%S", column, f"{offset:+d} seconds")


def _iso_utc(column, dialect: str):
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    return func.strftime("%Y-%m-%dT%H:%M:%f+00:00", column)


def _json_object(dialect: str, **pairs):
    build = func.json_build_object if dialect == "postgresql" else func.json_object
    arguments = []
    for key, value in pairs.items():
        arguments += [literal(key, String()), value]
    return build(*arguments)


def next_wake_time() -> datetime | None:
    """The earliest moment anything becomes judgeable: a due time, a warning, a tier-2 escalation, or the
    next step (or tier 3's voice call) of an unacknowledged escalation chain."""
    candidates = [
        db.session.scalar(select(func.min(Deadline.due_at)).where(Deadline.state == PENDING)),
        db.session.scalar(select(func.min(Deadline.warn_at)).where(Deadline.state == PENDING,
                                                                   Deadline.warned_at.is_(None))),
        db.session.scalar(select(func.min(Deadline.escalate_at)).where(
            Deadline.state == BREACHED, Deadline.escalated_at.is_(None), Deadline.met_at.is_(None),
            Deadline.cancelled_at.is_(None))),
        escalation.next_escalation_at(open_deadlines()),
    ]
    moments = [c for c in candidates if c is not None]
    return min(moments) if moments else None
