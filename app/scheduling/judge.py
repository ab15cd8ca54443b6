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
from typing import Iterable, Sequence

from sqlalchemy import func, select, update

from app.clock import utcnow
from app.extensions import db
from app.incidents import timeline
from app.incidents.models import Incident
from app.policy import current_policy
from app.scheduling.models import KIND_LABELS_ZH, Deadline, DeadlineKind, DeadlineState
from app.staff.service import alert_on_call_duty_managers_many

log = logging.getLogger(__name__)

BATCH = 2000  # rows per transaction: keeps SQLite's write lock short for the web requests
JUDGE_IDENTITY = f"{socket.gethostname()}:{os.getpid()}"
PENDING = DeadlineState.pending.value
BREACHED = DeadlineState.breached.value


@dataclass
class JudgeResult:
    breached: list[int] = field(default_factory=list)   # deadline ids
    warned: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.breached or self.warned or self.escalated)


def judge_due(now: datetime | None = None, *, batch: int = BATCH) -> JudgeResult:
    """One full pass at ``now``: breaches, then early warnings, then tier-2 escalations.

    Commits each batch; safe to run concurrently with another judge or a transition.
    """
    now = now or utcnow()
    result = JudgeResult()
    for step, bucket in ((breach_deadlines, result.breached), (warn_deadlines, result.warned),
                         (escalate_deadlines, result.escalated)):
        while True:
            try:
                claimed = step(now, limit=batch)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            bucket.extend(claimed)
            if len(claimed) < batch:
                break
    if result:
        log.info("judged at %s: %d breached, %d warned, %d escalated", now.isoformat(), len(result.breached),
                 len(result.warned), len(result.escalated))
    return result


def _claim(now: datetime, limit: int | None, conditions: Sequence, values: dict, only_ids: Iterable[int] | None):
    """Conditionally update up to ``limit`` rows matching ``conditions``; return the claimed rows."""
    if only_ids is not None:
        target = Deadline.id.in_(list(only_ids))
    else:
        target = Deadline.id.in_(select(Deadline.id).where(*conditions).order_by(Deadline.id).limit(limit).scalar_subquery())
    statement = (
        update(Deadline).where(target, *conditions).values(**values, updated_at=now)
        .returning(Deadline.id, Deadline.incident_id, Deadline.kind, Deadline.due_at)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).all()


def breach_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Mark pending deadlines due by ``now`` as breached; timeline + tier-1 escalation for each."""
    rows = _claim(now, limit, [Deadline.state == PENDING, Deadline.due_at <= now],
                  {"state": BREACHED, "breached_at": now}, only_ids)
    _announce(rows, now, event="deadline_breached", alert="deadline_breach", tier="tier1",
              text="【超时】{number}「{title}」{label}时限已于 {due} 到期未完成，请立即处理",
              english="{kind} deadline breached")
    return [row.id for row in rows]


def warn_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Early warning at the policy's fraction of the window, once per due time."""
    rows = _claim(now, limit, [Deadline.state == PENDING, Deadline.warned_at.is_(None), Deadline.warn_at <= now,
                               Deadline.due_at > now], {"warned_at": now}, only_ids)
    _announce(rows, now, event="deadline_warning", alert="deadline_warning", tier="warning",
              text="【预警】{number}「{title}」{label}时限将于 {due} 到期",
              english="{kind} deadline approaching")
    return [row.id for row in rows]


def escalate_deadlines(now: datetime, *, limit: int | None = BATCH, only_ids: Iterable[int] | None = None) -> list[int]:
    """Next tier: a breached deadline still unmet ``next_tier_after`` its due time."""
    rows = _claim(now, limit, [Deadline.state == BREACHED, Deadline.met_at.is_(None), Deadline.escalated_at.is_(None),
                               Deadline.cancelled_at.is_(None), Deadline.escalate_at <= now],
                  {"escalated_at": now}, only_ids)
    _announce(rows, now, event="deadline_escalated", alert="escalation_tier2", tier="tier2",
              text="【二级升级】{number}「{title}」{label}时限自 {due} 超时至今仍未完成",
              english="{kind} deadline still unmet, escalated to the next tier")
    return [row.id for row in rows]


def _announce(rows, now: datetime, *, event: str, alert: str, tier: str, text: str, english: str) -> None:
    if not rows:
        return
    zone = current_policy().zone
    incidents = {i.id: i for i in db.session.scalars(
        select(Incident).where(Incident.id.in_({row.incident_id for row in rows})))}
    alerts = []
    for row in rows:
        incident = incidents[row.incident_id]
        due_local = row.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        message = text.format(number=incident.number, title=incident.title, due=due_local,
                              label=KIND_LABELS_ZH[DeadlineKind(row.kind)])
        timeline.record(incident, event, actor=None, message=f"{message} ({english.format(kind=row.kind)})",
                        after={"kind": row.kind, "due_at": row.due_at.isoformat(), "at": now.isoformat(),
                               "judged_by": JUDGE_IDENTITY})
        # One dedupe key per (deadline, tier, due time): a retried pass never alerts twice.
        alerts.append((incident.id, alert, message, f"deadline:{row.id}:{tier}:{int(row.due_at.timestamp())}"))
    alert_on_call_duty_managers_many(alerts)


def next_wake_time() -> datetime | None:
    """The earliest moment anything becomes judgeable: a due time, a warning or a tier-2 escalation."""
    candidates = [
        db.session.scalar(select(func.min(Deadline.due_at)).where(Deadline.state == PENDING)),
        db.session.scalar(select(func.min(Deadline.warn_at)).where(Deadline.state == PENDING,
                                                                   Deadline.warned_at.is_(None))),
        db.session.scalar(select(func.min(Deadline.escalate_at)).where(
            Deadline.state == BREACHED, Deadline.escalated_at.is_(None), Deadline.met_at.is_(None),
            Deadline.cancelled_at.is_(None))),
    ]
    moments = [_aware(c) for c in candidates if c is not None]
    return min(moments) if moments else None


def _aware(value):
    # func.min() loses the column type on SQLite: re-read it as the UTC the column stores.
    from app.db_types import UTCDateTime

    if isinstance(value, str):
        from datetime import datetime as dt

        value = dt.fromisoformat(value)
    return UTCDateTime().process_result_value(value, db.engine.dialect)
