"""Propose a grade from the declared scope and impact (RULES §2)."""
from __future__ import annotations

from datetime import datetime

from app.policy import Policy
from app.subscribers.affected import covers_all_regions


def propose_level(services: list[str], regions: list[str], affected_subscribers: int, policy: Policy) -> int:
    grading = policy.grading
    if (
        any(s in grading["key_services"] for s in services)
        or covers_all_regions(regions, policy)
        or affected_subscribers >= grading["level1_subscribers"]
    ):
        return 1
    if len(set(regions)) > 1 or len(set(services)) > 1 or affected_subscribers >= grading["level2_subscribers"]:
        return 2
    return 3


def outage_minutes(detected_at: datetime, until: datetime) -> int:
    """Whole minutes of interruption; never negative."""
    return max(0, int((until - detected_at).total_seconds() // 60))


def is_regulator_reportable(affected_subscribers: int, minutes: int, policy: Policy) -> bool:
    line = policy.regulator
    by_users = affected_subscribers > line["users_over"] and minutes > line["users_duration_minutes"]
    by_user_minutes = (
        affected_subscribers * minutes > line["user_minutes_over"]
        and minutes >= line["user_minutes_min_duration_minutes"]
    )
    return by_users or by_user_minutes
