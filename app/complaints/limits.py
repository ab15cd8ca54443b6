"""RULES §8 as arithmetic: which limits a complaint owes and when each falls due.

Hour limits are policy hours from their start; working-day limits follow the PRC calendar
(``working_days``). Pure functions of the complaint's times and the policy.
"""
from __future__ import annotations

from datetime import datetime

from app.complaints.working_days import working_days_after
from app.policy import Policy
from app.scheduling.complaints import Limit
from app.scheduling.models import ComplaintDeadlineKind as Kind


def _hours(kind: Kind, start: datetime, hours: int, policy: Policy) -> Limit:
    return Limit(kind, start, start + policy.complaint_hours(hours))


def _working_days(kind: Kind, start: datetime, days: int, policy: Policy) -> Limit:
    return Limit(kind, start, working_days_after(start, days, policy))


def at_registration(category: str, received_at: datetime, policy: Policy) -> list[Limit]:
    """Registration, acknowledgement, the category's investigation and feedback, written feedback."""
    rules = policy.complaints
    own = rules["categories"][category]
    limits = [
        _hours(Kind.register, received_at, rules["register_hours"], policy),
        _hours(Kind.acknowledge, received_at, rules["acknowledge_hours"], policy),
    ]
    if own.get("investigate_hours"):
        limits.append(_hours(Kind.investigate, received_at, own["investigate_hours"], policy))
    limits.append(_hours(Kind.feedback, received_at, own["feedback_hours"], policy))
    limits.append(_working_days(Kind.written_feedback, received_at, rules["written_feedback_working_days"], policy))
    return limits


def after_feedback(fed_back_at: datetime, policy: Policy) -> list[Limit]:
    return [_hours(Kind.follow_up, fed_back_at, policy.complaints["follow_up_hours"], policy)]


def at_appeal(accepted_at: datetime, policy: Policy) -> list[Limit]:
    """Investigation, review by a higher tier and closure, all counted from the acceptance."""
    rules = policy.complaints
    return [
        _working_days(Kind.appeal_investigation, accepted_at, rules["appeal_investigation_working_days"], policy),
        _working_days(Kind.appeal_review, accepted_at, rules["appeal_review_working_days"], policy),
        _working_days(Kind.appeal_close, accepted_at, rules["appeal_close_working_days"], policy),
    ]


def expected_result_at(limits: list[Limit]) -> datetime:
    """When the complainant may expect the result: the feedback limit."""
    return next(limit.due_at for limit in limits if limit.kind is Kind.feedback)
