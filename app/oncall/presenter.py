"""Rows for the roster's API and console page (one shape for both)."""
from __future__ import annotations

from datetime import datetime, timedelta

from app.clock import utcnow
from app.errors import InvalidInput
from app.oncall import service
from app.oncall.models import Tier
from app.policy import current_policy

DEFAULT_WINDOW = timedelta(days=7)


def window(window_from: datetime | None, window_to: datetime | None) -> tuple[datetime, datetime]:
    """The asked window, by default from today 00:00 in the policy's zone for seven days."""
    if window_from is None:
        local_now = utcnow().astimezone(current_policy().zone)
        window_from = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    window_to = window_to or window_from + DEFAULT_WINDOW
    if window_to <= window_from:
        raise InvalidInput("to", "窗口结束时间须晚于开始时间 (to must be after from)")
    return window_from, window_to


def shift_input(data: dict) -> service.ShiftInput:
    return service.ShiftInput(user_id=data["user_id"], tier=Tier(data["tier"]),
                              starts_at=data["starts_at"], ends_at=data["ends_at"])


def roster(window_from: datetime, window_to: datetime, shifts) -> dict:
    at = utcnow()
    return {
        "at": at,
        "now": [{"tier": int(tier), "label": tier.label,
                 "people": [{"user_id": u.id, "name": u.name} for u in people]}
                for tier, people in service.on_duty_now(at).items()],
        "window_from": window_from, "window_to": window_to,
        "shifts": [{"id": s.id, "user_id": u.id, "name": u.name, "tier": s.tier, "label": Tier(s.tier).label,
                    "starts_at": s.starts_at, "ends_at": s.ends_at} for s, u in shifts],
    }
