"""Every kind of event in a complaint's history (归档), with the one label shown for it.

``app.complaints.timeline.record`` refuses a kind that is not here. The deadline judge writes
the same deadline events to complaints as to incidents: those take the incident timeline's
labels, so one event still has one label.
"""
from __future__ import annotations

from app.incidents.timeline_kinds import EventKind
from app.labels import LabeledEnum


def _as_incident(kind: EventKind) -> tuple[str, str]:
    return kind.value, kind.label


class ComplaintEventKind(LabeledEnum):
    registered = "registered", "受理登记"
    linked = "linked", "关联故障"
    assigned = "assigned", "转派"
    investigated = "investigated", "调查"
    fed_back = "fed_back", "反馈处理结果"
    followed_up = "followed_up", "回访"
    closed = "closed", "投诉闭环"
    appeal_accepted = "appeal_accepted", "受理申诉"
    appeal_investigated = "appeal_investigated", "申诉调查"
    appeal_reviewed = "appeal_reviewed", "申诉复核"
    satisfaction_reply = "satisfaction_reply", "满意度回复"
    # written by the deadline judge and scheduling, as on an incident's timeline
    deadline_warning = _as_incident(EventKind.deadline_warning)
    deadline_breached = _as_incident(EventKind.deadline_breached)
    deadline_escalated = _as_incident(EventKind.deadline_escalated)
    deadline_met_late = _as_incident(EventKind.deadline_met_late)
