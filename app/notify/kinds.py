"""Notice kinds (RULES §6) and the deadline each one meets."""
from __future__ import annotations

from app.policy import COMPLAINT_NOTICE_KINDS, NOTICE_KINDS

OUTAGE, PROGRESS, RECOVERY, FORMAL, COMPENSATION, SURVEY = NOTICE_KINDS
COMPLAINT_ACK, COMPLAINT_RESULT, COMPLAINT_SURVEY = COMPLAINT_NOTICE_KINDS

LABELS_ZH = {
    OUTAGE: "故障通知", PROGRESS: "进展通报", RECOVERY: "恢复通知",
    FORMAL: "正式通知", COMPENSATION: "补偿通知", SURVEY: "满意度调查",
    COMPLAINT_ACK: "投诉确认", COMPLAINT_RESULT: "投诉处理结果", COMPLAINT_SURVEY: "投诉满意度调查",
}

# kind -> (deadline kind of the scheduling domain, policy window measured from recovered_at)
DEADLINES = {
    RECOVERY: ("recovery_notice", "recovery_notice_minutes"),
    FORMAL: ("formal_notice", "formal_notice_minutes"),
}

# Outbox statuses, ranked: a status callback only ever moves a notice to a higher rank.
QUEUED, SENDING, ACCEPTED, SENT, DELIVERED, UNDELIVERED, FAILED = (
    "queued", "sending", "accepted", "sent", "delivered", "undelivered", "failed")
STATUS_RANK = {QUEUED: 0, SENDING: 1, ACCEPTED: 2, SENT: 3, DELIVERED: 4, UNDELIVERED: 4, FAILED: 4}
ACCEPTED_BY_PROVIDER = (ACCEPTED, SENT, DELIVERED, UNDELIVERED)
PENDING = (QUEUED, SENDING)
