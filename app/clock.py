"""The one place the product asks what time it is (freezegun patches it in tests)."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def ensure_aware_utc(moment: datetime) -> datetime:
    """Refuse naive datetimes: every time inside the product is aware UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must carry a UTC offset")
    return moment.astimezone(timezone.utc)
