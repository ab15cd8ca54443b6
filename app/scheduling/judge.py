"""Judging deadlines: idempotent, set-based, exactly once.

Each step claims its rows with one conditional UPDATE (``… WHERE state = 'pending' AND
due_at <= now``); the timeline events and staff alerts of the claimed rows are written in
the same transaction — on PostgreSQL in the same statement (a data-modifying CTE: a catch-up
of 70,000 overdue deadlines is one statement per batch, not five). A second judge — a job that
fires twice, a second process, a restart after a crash — finds nothing left to claim, so nothing
is judged twice, and a crash before the commit leaves the rows pending for the next pass.
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
from app.staff import service as staff
from app.staff.service import duty_alerts_from_select
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
    """The claimed deadline ids, and the owners (incidents, complaints) their deadlines may have:
    an owner none of them has gets no statements."""

    owners: tuple = ()


def _claim(now: datetime, limit: int | None, conditions: Sequence, values: dict, only_ids: Iterable[int] | None,
           notice: _Notice | None = None) -> _Claimed:
    """Conditionally update up to ``limit`` rows matching ``conditions``; return the claimed ids. With
    ``notice``, also write each claimed deadline's timeline event, alerts and chain step (``_announcements``):
    on PostgreSQL in the claim's own statement, on SQLite one statement after another.

    Locks in the one order (their incidents' rows, then the deadline rows, each in id order),
    so a transition on one of these incidents and this claim never deadlock.
    """
    dialect = db.session.get_bind().dialect.name
    candidates = select(Deadline.id, Deadline.complaint_id).where(*conditions).order_by(Deadline.id)
    if only_ids is not None:
        candidates = candidates.where(Deadline.id.in_(list(only_ids)))
    else:
        candidates = candidates.limit(limit)
    # Look before writing: an UPDATE matching nothing still takes SQLite's write lock.
    rows = db.session.execute(candidates).all()
    if not rows:
        return _Claimed()
    ids = [deadline_id for deadline_id, _ in rows]
    # Which owners the candidates have (a superset of the claimed rows'): an owner none has gets no statements.
    owners = [owner for owner in _owners()
              if any((complaint_id is not None) == (owner.owner_column == "complaint_id") for _, complaint_id in rows)]
    lock_incidents(select(Deadline.incident_id).where(_among(Deadline.id, ids, dialect)))
    locked = (select(Deadline.id).where(_among(Deadline.id, ids, dialect), *conditions)
              .order_by(Deadline.id).with_for_update())
    if dialect == "postgresql" and notice is not None:
        return _claim_and_announce(locked, conditions, {**values, "updated_at": now}, now, notice, owners)
    ids = list(db.session.scalars(locked))
    if not ids:
        return _Claimed()
    statement = (
        update(Deadline).where(_among(Deadline.id, ids, dialect), *conditions).values(**values, updated_at=now)
        .returning(Deadline.id, Deadline.incident_id, Deadline.complaint_id)
        .execution_options(synchronize_session=False)
    )
    claimed = _Claimed(row[0] for row in db.session.execute(statement))
    claimed.owners = tuple(owners)
    if notice is not None and claimed:
        _announce(claimed, now, notice, owners)
    return claimed


def _announce(ids: list[int], now: datetime, notice: _Notice, owners: Sequence[_Owner]) -> None:
    """Announce the deadlines ``ids`` statement by statement (SQLite; tier 2 on both databases)."""
    claimed = _ClaimedRows(Deadline.__table__, _among(Deadline.id, ids, db.session.get_bind().dialect.name))
    for statement, is_alerts in _announcements(claimed, now, notice, owners):
        result = db.session.execute(statement)
        if is_alerts:
            staff.log_duty_alerts(len(result.all()), notice.roster_tier)


def _claim_and_announce(locked: Select, conditions: Sequence, values: dict, now: datetime, notice: _Notice,
                        owners: Sequence[_Owner]) -> _Claimed:
    """PostgreSQL: lock, claim and announce in one statement — a data-modifying CTE whose UPDATE
    returns the claimed rows (their values after any concurrent change it waited for) and whose
    INSERTs read those rows. One statement, one snapshot: all of it or none of it."""
    locked = locked.cte("locked").prefix_with("MATERIALIZED")   # locked first, in id order
    # UPDATE … FROM locked: a hash join over one scan of the table, not a look-up per row.
    claimed = (update(Deadline).where(Deadline.id == locked.c.id, *conditions).values(**values)
               .returning(*(Deadline.__table__.c[name] for name in _ClaimedRows.COLUMNS)).cte("claimed"))
    writes = _announcements(_ClaimedRows(claimed), now, notice, owners)
    parts = [statement.cte(f"write_{n}") for n, (statement, _) in enumerate(writes)]
    queued = [select(func.count()).select_from(part).scalar_subquery()
              for part, (_, is_alerts) in zip(parts, writes) if is_alerts]
    rows = db.session.execute(select(claimed.c.id, *(q.label(f"queued_{n}") for n, q in enumerate(queued)))
                              .add_cte(*parts).order_by(claimed.c.id)).all()
    if rows:
        staff.log_duty_alerts(sum(rows[0][1:]), notice.roster_tier)
    claimed = _Claimed(row[0] for row in rows)
    claimed.owners = tuple(owners)
    return claimed


def breach_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Mark pending deadlines due by ``now`` as breached; timeline + tier-1 escalation for each."""
    return _claim(now, limit, [Deadline.state == PENDING, Deadline.due_at <= now],
                  {"state": BREACHED, "breached_at": now}, only_ids, BREACH)


def warn_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Early warning at the policy's fraction of the window, once per due time."""
    return _claim(now, limit, [Deadline.state == PENDING, Deadline.warned_at.is_(None), Deadline.warn_at <= now,
                               Deadline.due_at > now], {"warned_at": now}, only_ids, WARNING)


def escalate_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Next tier: a breached deadline still unmet ``next_tier_after`` its due time. Tier 2 is the breach
    chain's step (app/oncall/escalation.py): alerted here only where the unacknowledged climb has not
    raised it already, so tier 2 never gets both."""
    ids = _claim(now, limit, [Deadline.state == BREACHED, Deadline.met_at.is_(None), Deadline.escalated_at.is_(None),
                              Deadline.cancelled_at.is_(None), Deadline.escalate_at <= now],
                 {"escalated_at": now}, only_ids)
    if not ids:
        return ids
    claimed = _ClaimedRows(Deadline.__table__, _among(Deadline.id, ids, db.session.get_bind().dialect.name))
    raised = []
    for owner in ids.owners:
        raised += escalation.raise_tier2_from_select(claimed.select(
            owner, claimed.c.id.label("deadline_id"), owner.incident_id(claimed.c).label("incident_id")), now)
    if raised:
        _announce(sorted(raised), now, TIER2, ids.owners)
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


@dataclass(frozen=True)
class _Notice:
    """What a claim tells: the timeline event, the alert to the roster tier, and (for warnings and
    breaches) the escalation chain it opens. Message: ``<prefix><owner>「<title>」<kind label><middle>
    <due, local time><suffix>``."""

    event: EventKind
    alert: str
    tier: str                    # the dedupe key's tier part
    text: tuple[str, str, str]   # prefix, middle, suffix
    english: str
    chain: ChainCause | None     # the chain it starts at tier 1 (RULES §9), if any

    @property
    def roster_tier(self) -> Tier:
        # Warnings and breaches go to tier 1 on duty; the escalation still unmet after the interval to tier 2.
        return Tier.department_head if self.tier == "tier2" else Tier.duty_manager


BREACH = _Notice(EventKind.deadline_breached, StaffAlertKind.deadline_breach, "tier1",
                 ("【超时】", "时限已于 ", " 到期未完成，请立即处理"), "deadline breached", ChainCause.breach)
WARNING = _Notice(EventKind.deadline_warning, StaffAlertKind.deadline_warning, "warning",
                  ("【预警】", "时限将于 ", " 到期"), "deadline approaching", ChainCause.warning)
TIER2 = _Notice(EventKind.deadline_escalated, StaffAlertKind.escalation_tier2, "tier2",
                ("【二级升级】", "时限自 ", " 超时至今仍未完成"), "deadline still unmet, escalated to the next tier", None)


class _ClaimedRows:
    """The claimed deadlines the announcements read: the ``deadlines`` table narrowed by ``where``
    (statement by statement), or the claiming UPDATE's RETURNING rows (PostgreSQL's CTE)."""

    COLUMNS = ("id", "incident_id", "complaint_id", "kind", "due_at")

    def __init__(self, source, where=None):
        self.source, self.where = source, where

    @property
    def c(self):
        return self.source.c

    def select(self, owner: "_Owner", *columns) -> Select:
        chosen = select(*columns).select_from(self.source).join(owner.table, owner.table.id == self.c[owner.owner_column])
        return chosen if self.where is None else chosen.where(self.where)


@dataclass(frozen=True)
class _Owner:
    """Who a deadline belongs to, for its messages: the row, how to name it, where its history goes."""

    table: Any
    owner_column: str   # the deadline's column naming the owner (and its history's)
    title: Any          # SQL text naming the owner in messages
    incident_id: Callable  # the deadline columns -> the incident a staff alert is filed under (a complaint's linked one)
    history_from_select: Callable   # its history's INSERT … SELECT builder


def _owners() -> tuple[_Owner, ...]:
    from app.complaints import timeline as complaint_timeline
    from app.complaints.models import Complaint

    return (
        _Owner(Incident, "incident_id", Incident.number + "「" + Incident.title + "」",
               lambda columns: columns.incident_id, timeline.insert_from_select),
        _Owner(Complaint, "complaint_id", Complaint.number + "「投诉」",
               lambda columns: Complaint.incident_id, complaint_timeline.insert_from_select),
    )


def _announcements(claimed: _ClaimedRows, now: datetime, notice: _Notice, owners: Sequence[_Owner]) -> list[tuple[Any, bool]]:
    """The INSERT … SELECTs announcing the claimed deadlines, per owner: the timeline event, the alert
    to the roster tier and (warnings, breaches) the chain's tier-1 step; each with whether it is the
    alerts' (whose RETURNING rows count the alerts queued)."""
    dialect = db.session.get_bind().dialect.name
    statements = []
    for owner in owners:
        c = claimed.c
        prefix, middle, suffix = notice.text
        label = case(LABELS_BY_VALUE, value=c.kind, else_=c.kind)
        message = (literal(prefix, String()) + owner.title + label + middle
                   + _local_time_text(c.due_at, now, dialect) + suffix)
        due_iso = _iso_utc(c.due_at, dialect)
        statements.append((owner.history_from_select(claimed.select(
            owner,
            c[owner.owner_column].label(owner.owner_column), literal(notice.event.value, String()).label("kind"),
            (message + " (" + c.kind + " " + notice.english + ")").label("message"),
            _json_object(dialect, kind=c.kind, due_at=due_iso, at=literal(now.isoformat(), String()),
                         judged_by=literal(JUDGE_IDENTITY, String())).label("after"),
        )), False))
        # One dedupe key per (deadline, tier): a retried pass never alerts twice. Warnings also key
        # on the due time, so a deadline moved by a regrade is warned again for its new time.
        dedupe = literal("deadline:", String()) + cast(c.id, String) + f":{notice.tier}"
        if notice.tier == "warning":
            dedupe = dedupe + ":" + due_iso
        statements.append((duty_alerts_from_select(claimed.select(
            owner, owner.incident_id(c).label("incident_id"), literal(notice.alert, String()).label("kind"),
            message.label("message"), dedupe.label("dedupe_key"),
        ), notice.roster_tier), True))
        # A warning's or a breach's escalation chain starts at tier 1 (app/oncall/escalation.py; RULES §9).
        if notice.chain is not None:
            statements.append((escalation.open_chains_from_select(claimed.select(
                owner, c.id.label("deadline_id"), owner.incident_id(c).label("incident_id")), now, notice.chain), False))
    return statements


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
