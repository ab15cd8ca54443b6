"""Notice kinds (RULES §6), their labels, and the deadline each one meets."""
from __future__ import annotations

from app.labels import LabeledEnum


class NoticeKind(LabeledEnum):
    """Notices to the subscribers in an incident's scope."""

    outage = "outage", "故障通知"
    progress = "progress", "进展通报"
    recovery = "recovery", "恢复通知"
    formal = "formal", "正式通知"
    compensation = "compensation", "补偿通知"
    survey = "survey", "满意度调查"


class ComplaintNoticeKind(LabeledEnum):
    """Messages to a complainant (RULES §8): always sent (the complainant asked), never to a scope."""

    complaint_ack = "complaint_ack", "投诉确认"
    complaint_result = "complaint_result", "投诉处理结果"
    complaint_survey = "complaint_survey", "投诉满意度调查"


# kind -> (deadline kind of the scheduling domain, policy window measured from recovered_at)
DEADLINES = {
    NoticeKind.recovery: ("recovery_notice", "recovery_notice_minutes"),
    NoticeKind.formal: ("formal_notice", "formal_notice_minutes"),
}
