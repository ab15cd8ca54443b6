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

WINDOW_LABELS = {
    "report": ("上报服务调度中心", "report to dispatch center"),
    "emergency_response": ("启动应急响应", "emergency response"),
    "response": ("响应", "response"),
    "recovery": ("恢复", "recovery"),
    "recovery_notice": ("恢复通知", "recovery notice"),
    "formal_notice": ("正式通知", "formal notice"),
    "analysis_report": ("故障分析报告", "analysis report"),
}
WINDOW_ORDER = list(WINDOW_LABELS)
STATE_LABELS = {"met": "达标", "breached": "超时", "pending": "未到期", "cancelled": "已取消", "unknown": "暂无数据"}

SOURCE_DEADLINES = "deadlines"
SOURCE_FALLBACK = "incident_timestamps"
FALLBACK_NOTE = "根据故障单自身时间与策略时限计算（该故障单无时限记录） (computed from the incident's timestamps; it has no deadline records)"


@dataclass(frozen=True)
class WindowOutcome:
    kind: str
    label_zh: str
    label_en: str
    window_minutes: int
    starts_at: datetime
    due_at: datetime
    done_at: datetime | None
    state: str                    # met, breached, pending, cancelled, unknown
    late_minutes: int | None      # how late (done late, or still undone past due)

    @property
    def state_zh(self) -> str:
        return STATE_LABELS[self.state]


def _windows(incident: Incident, policy: Policy) -> list[tuple[str, datetime, timedelta]]:
    """(kind, start, window) of every obligation this incident has (RULES §2)."""
    detected = incident.detected_at
    rows = [("report", detected, policy.minutes("report_minutes"))]
    if incident.major:
        rows.append(("emergency_response", detected, policy.minutes("emergency_response_minutes")))
    rows.append(("response", detected, policy.respond_window(incident.level)))
    rows.append(("recovery", detected, policy.recover_window(incident.level)))
    if incident.recovered_at is not None:
        recovered = incident.recovered_at
        rows.append(("recovery_notice", recovered, policy.minutes("recovery_notice_minutes")))
        if incident.major:
            rows.append(("formal_notice", recovered, policy.minutes("formal_notice_minutes")))
        rows.append(("analysis_report", recovered, policy.minutes("analysis_report_minutes")))
    return rows


def _done_at(incident: Incident, kind: str) -> datetime | None:
    return {
        "report": incident.reported_at,
        "emergency_response": incident.emergency_response_at,
        "response": incident.responded_at,
        "recovery": incident.recovered_at,
        "analysis_report": incident.analysis_report_submitted_at,
    }.get(kind)


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
        label_zh, label_en = WINDOW_LABELS[kind]
        if kind in ("recovery_notice", "formal_notice"):
            # Only the notifier knows when the notices went out.
            result.append(WindowOutcome(kind, label_zh, label_en, int(window.total_seconds() // 60), start, due,
                                        None, "unknown", None))
            continue
        done = _done_at(incident, kind)
        if done is not None:
            state = "met" if done <= due else "breached"
        elif incident.cancelled_at is not None:
            state = "cancelled"
        else:
            state = "breached" if now > due else "pending"
        late = _late(due, done, now) if state == "breached" else None
        result.append(WindowOutcome(kind, label_zh, label_en, int(window.total_seconds() // 60), start, due,
                                    done, state, late))
    return SOURCE_FALLBACK, result


def _from_deadlines(rows: list[providers.DeadlineRow], windows, now: datetime) -> list[WindowOutcome]:
    starts = {kind: (start, window) for kind, start, window in windows}
    ordered = sorted(rows, key=lambda r: WINDOW_ORDER.index(r["kind"]) if r["kind"] in WINDOW_ORDER else 99)
    result = []
    for row in ordered:
        kind = row["kind"]
        label_zh, label_en = WINDOW_LABELS.get(kind, (kind, kind))
        start, window = starts.get(kind, (None, None))
        due = row["due_at"]
        done = row.get("met_at")
        if row["state"] == "breached":
            # A breached deadline may still be fulfilled later; measure lateness to then, or to now.
            late = _late(due, done, now)
        else:
            late = None
        minutes = int(window.total_seconds() // 60) if window else 0
        result.append(WindowOutcome(kind, label_zh, label_en, minutes, start or due, due, done, row["state"], late))
    return result
