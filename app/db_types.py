"""Column types shared by every domain."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, types


class UTCDateTime(types.TypeDecorator):
    """Timezone-aware UTC in Python on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no zone, so it stores naive UTC and we
    re-attach UTC on the way out. Naive values are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
