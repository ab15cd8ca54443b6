"""How figures read in a report: local times, durations, money. One place, every format."""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """'2026-11-23 08:05' in the console's zone; '—' when there is no such time."""
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def zone_label(zone: ZoneInfo, at: datetime) -> str:
    """'Asia/Shanghai, UTC+08:00'."""
    offset = at.astimezone(zone).strftime("%z")
    return f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"


def duration(minutes: int | None) -> str:
    """'2小时15分钟' (2 h 15 min)."""
    if minutes is None:
        return "—"
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours}小时{rest}分钟"
    if hours:
        return f"{hours}小时"
    return f"{rest}分钟"


def yuan(fen: int | None) -> str:
    """Integer fen → '1,234.56' (CNY); exact, never through float."""
    if fen is None:
        return "—"
    value = (Decimal(fen) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value:,}"


def user_hours(user_minutes: int) -> str:
    """User-minutes in user-hours with one decimal, exact."""
    return str((Decimal(user_minutes) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def thousands(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"
