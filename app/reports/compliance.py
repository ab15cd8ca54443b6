"""时限达标情况: each window's due time and outcome (met / breached, by how much).

The deadline table (scheduling) is the authority. An incident it has no rows for (declared
before the table existed) has its outcomes computed from its own timestamps against the
policy's windows, labelled as such.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.clock import utcnow
from app.incidents.models import Incident
from app.policy import Policy
from app.reports import providers
from app.scheduling import service as deadline_service
from app.scheduling import windows
from app.scheduling.models import DeadlineKind, DeadlineState

WINDOW_ORDER = [kind.value for kind in DeadlineKind]
# Beside the deadline states: a notice window the fallback cannot judge without the notifier.
UNKNOWN = "unknown"
UNKNOWN_LABEL = "暂无数据"

SOURCE_DEADLINES = "deadlines"
SOURCE_FALLBACK = "incident_timestamps"
FALLBACK_NOTE = "根据故障单自身时间与策略时限计算（该故障单无时限记录） (computed from the incident's timestamps; it has no deadline records)"


@dataclass(frozen=True)
class WindowOutcome:
    kind: str
    window_minutes: int
    starts_at: datetime
    due_at: datetime
    done_at: datetime | None
    state: str                    # met, breached, pending, cancelled, unknown
    late_minutes: int | None      # how late (done late, or still undone past due)

    @property
    def label_zh(self) -> str:
        return DeadlineKind(self.kind).label

    @property
    def label_en(self) -> str:
        return DeadlineKind(self.kind).label_en

    @property
    def state_zh(self) -> str:
        return UNKNOWN_LABEL if self.state == UNKNOWN else DeadlineState(self.state).label


def _windows(incident: Incident, policy: Policy) -> list[tuple[DeadlineKind, datetime, timedelta]]:
    """(kind, start, window) of every obligation this incident has (RULES §2), as scheduling reckons them."""
    return [(kind, windows.window_for(incident, kind, policy).starts_at, windows.window_length(kind, incident.level, policy))
            for kind in windows.applicable_kinds(incident)]


def _late(due: datetime, done: datetime | None, now: datetime) -> int | None:
    end = done or now
    if end <= due:
        return None
    return int((end - due).total_seconds() // 60) or 1


def outcomes(incident: Incident, policy: Policy, now: datetime | None = None) -> tuple[str, list[WindowOutcome]]:
    """(source, outcomes in window order). Notice windows are ``unknown`` in the fallback."""
    now = now or utcnow()
    rows = providers.deadline_rows(incident)
    windows = _windows(incident, policy)
    if rows:
        return SOURCE_DEADLINES, _from_deadlines(rows, windows, now)
    result = []
    for kind, start, window in windows:
        due = start + window
        if kind in (DeadlineKind.recovery_notice, DeadlineKind.formal_notice):
            # Only the notifier knows when the notices went out.
            result.append(WindowOutcome(kind, int(window.total_seconds() // 60), start, due, None, UNKNOWN, None))
            continue
        done = deadline_service.fulfilment_time(incident, kind)
        if done is not None:
            state = DeadlineState.met if done <= due else DeadlineState.breached
        elif incident.cancelled_at is not None:
            state = DeadlineState.cancelled
        else:
            state = DeadlineState.breached if now > due else DeadlineState.pending
        late = _late(due, done, now) if state == DeadlineState.breached else None
        result.append(WindowOutcome(kind, int(window.total_seconds() // 60), start, due, done, state, late))
    return SOURCE_FALLBACK, result


def _from_deadlines(rows: list[providers.DeadlineRow], windows, now: datetime) -> list[WindowOutcome]:
    starts = {kind: (start, window) for kind, start, window in windows}
    ordered = sorted(rows, key=lambda r: WINDOW_ORDER.index(r["kind"]))
    result = []
    for row in ordered:
        kind = row["kind"]
        start, window = starts.get(kind, (None, None))
        due = row["due_at"]
        done = row.get("met_at")
        if row["state"] == DeadlineState.breached:
            # A breached deadline may still be fulfilled later; measure lateness to then, or to now.
            late = _late(due, done, now)
        else:
            late = None
        minutes = int(window.total_seconds() // 60) if window else 0
        result.append(WindowOutcome(kind, minutes, start or due, due, done, row["state"], late))
    return result
