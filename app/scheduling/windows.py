"""RULES §2 as arithmetic: which deadlines an incident has and when each falls due.

Pure functions of the incident and the policy, so a regrade re-computes with the same
code from the same original start (``detected_at`` or ``recovered_at``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.incidents.models import Incident
from app.policy import Policy
from app.scheduling.models import DeadlineKind

FROM_DETECTION = (DeadlineKind.report, DeadlineKind.emergency_response, DeadlineKind.response, DeadlineKind.recovery)
FROM_RECOVERY = (DeadlineKind.recovery_notice, DeadlineKind.formal_notice, DeadlineKind.analysis_report)
MAJOR_ONLY = (DeadlineKind.emergency_response, DeadlineKind.formal_notice)


@dataclass(frozen=True)
class Window:
    kind: DeadlineKind
    starts_at: datetime
    due_at: datetime
    warn_at: datetime
    escalate_at: datetime


def window_length(kind: DeadlineKind, level: int, policy: Policy) -> timedelta:
    if kind is DeadlineKind.response:
        return policy.respond_window(level)
    if kind is DeadlineKind.recovery:
        return policy.recover_window(level)
    return policy.minutes(f"{kind.value}_minutes")


def applicable_kinds(incident: Incident) -> list[DeadlineKind]:
    """The kinds this incident owes now: detection kinds always, recovery kinds once recovered."""
    kinds = list(FROM_DETECTION)
    if incident.recovered_at is not None:
        kinds += FROM_RECOVERY
    return [k for k in kinds if incident.major or k not in MAJOR_ONLY]


def window_for(incident: Incident, kind: DeadlineKind, policy: Policy) -> Window:
    starts_at = incident.detected_at if kind in FROM_DETECTION else incident.recovered_at
    if starts_at is None:
        raise ValueError(f"{kind.value} runs from recovered_at, which is not set")
    length = window_length(kind, incident.level, policy)
    due_at = starts_at + length
    return Window(
        kind=kind,
        starts_at=starts_at,
        due_at=due_at,
        warn_at=starts_at + length * policy.escalation["warning_fraction"],
        escalate_at=due_at + policy.next_tier_after,
    )
