"""Times as the console shows and reads them: in the policy's zone (default Asia/Shanghai).

Everything inside the product is aware UTC; only this module turns it into wall-clock
text for a person, and turns what a person typed (a local ``datetime-local`` value)
back into UTC.
"""
from __future__ import annotations

from datetime import datetime, timezone

from app.policy import current_policy

DISPLAY_FORMAT = "%Y-%m-%d %H:%M"


def localtime(moment: datetime | None, fmt: str = DISPLAY_FORMAT) -> str:
    """Jinja filter ``localtime``: aware UTC → "2026-11-23 08:15" in the configured zone."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        raise ValueError("localtime needs an aware datetime")
    return moment.astimezone(current_policy().zone).strftime(fmt)


def utc_to_wall_clock(moment: datetime) -> datetime:
    """Aware UTC → the naive wall-clock time a datetime-local input shows in the configured zone."""
    return moment.astimezone(current_policy().zone).replace(tzinfo=None)


def local_to_utc(wall_clock: datetime | None) -> datetime | None:
    """A naive wall-clock time typed in the configured zone → aware UTC."""
    if wall_clock is None:
        return None
    if wall_clock.tzinfo is not None:
        return wall_clock.astimezone(timezone.utc)
    return wall_clock.replace(tzinfo=current_policy().zone).astimezone(timezone.utc)


def duration_text(minutes: int) -> str:
    """Whole minutes as a short Chinese duration: "3天2小时", "2小时15分", "12分"."""
    minutes = max(0, int(minutes))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins:02d}分"
    return f"{mins}分"


