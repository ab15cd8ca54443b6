"""What the complainant is told, and when (RULES §8), queued through the notifier's outbox.

- at registration: the acknowledgement (投诉确认) — number, when to expect the result and,
  when linked, the incident and its expected recovery;
- at feedback (``send_sms``): the result;
- at follow-up without a recorded score: the satisfaction survey (reply 1–5).
"""
from __future__ import annotations

from datetime import datetime

from app.complaints.models import Complaint
from app.incidents.service import get_incident
from app.notify.kinds import ComplaintNoticeKind
from app.notify.complainants import queue_to_complainant
from app.notify.templates import local_time
from app.policy import Policy


def acknowledge(complaint: Complaint, expected_result_at: datetime, policy: Policy) -> int:
    context = {"complaint_number": complaint.number, "expected_result_at": local_time(expected_result_at, policy.zone),
               "incident_number": None, "estimated_recovery_at": None}
    if complaint.incident_id is not None:
        incident = get_incident(complaint.incident_id)
        context.update(incident_number=incident.number,
                       estimated_recovery_at=local_time(incident.estimated_recovery_at, policy.zone))
    return _queue(complaint, ComplaintNoticeKind.complaint_ack, context, policy)


def result(complaint: Complaint, policy: Policy) -> int:
    return _queue(complaint, ComplaintNoticeKind.complaint_result, {"complaint_number": complaint.number, "result": complaint.result},
                  policy)


def survey(complaint: Complaint, policy: Policy) -> int:
    return _queue(complaint, ComplaintNoticeKind.complaint_survey, {"complaint_number": complaint.number}, policy)


def _queue(complaint: Complaint, kind: str, context: dict, policy: Policy) -> int:
    return queue_to_complainant(complaint.id, kind, complaint.phone, complaint.subscriber_id, context, policy)
