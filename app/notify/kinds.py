"""Notice kinds (RULES §6), their labels, and the deadline each one meets."""
from __future__ import annotations

from app.labels import LabeledEnum


class NoticeKind(LabeledEnum):
    outage = "outage", "故障通知"
    progress = "progress", "进展通报"
    recovery = "recovery", "恢复通知"
    formal = "formal", "正式通知"
    compensation = "compensation", "补偿通知"
    survey = "survey", "满意度调查"


# kind -> (deadline kind of the scheduling domain, policy window measured from recovered_at)
DEADLINES = {
    NoticeKind.recovery: ("recovery_notice", "recovery_notice_minutes"),
    NoticeKind.formal: ("formal_notice", "formal_notice_minutes"),
}
