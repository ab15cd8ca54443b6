"""Rate limits of the lookup, counted in the database so that every web process sees them.

Fixed windows of ``status_lookup.window_minutes``: one row per (scope, subject, window start),
incremented by one upsert that returns the new count. A request over a limit is answered 429
with ``Retry-After`` (the seconds until its window ends) and the limit's name.
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, delete

from app.db_types import UTCDateTime
from app.errors import DomainError
from app.extensions import db
from app.public.models import StatusLookupLimit
from app.sql import dialect_insert

PHONE, ADDRESS, VERIFY_ADDRESS = "phone", "address", "verify_address"
LIMIT_LABELS = {
    PHONE: "同一号码查询过于频繁",
    ADDRESS: "同一网络地址查询过于频繁",
    VERIFY_ADDRESS: "同一网络地址验证次数过多",
}
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(f"{LIMIT_LABELS[limit]}，请 {retry_after} 秒后再试 (rate limit '{limit}' reached)",
                         limit=limit, retry_after=retry_after)
        self.limit = limit
        self.retry_after = retry_after


def window_start(now: datetime, window: timedelta) -> datetime:
    return _EPOCH + ((now - _EPOCH) // window) * window


@functools.cache
def _upsert(dialect: str):
    """Built once per database: bound parameters only, so SQLAlchemy compiles it once too."""
    table = StatusLookupLimit.__table__
    return (dialect_insert(table).values(scope=bindparam("scope"), subject=bindparam("subject"),
                                         window_start=bindparam("start", type_=UTCDateTime()), hits=1)
            .on_conflict_do_update(index_elements=["scope", "subject", "window_start"],
                                   set_={"hits": table.c.hits + 1})
            .returning(table.c.hits))


def count(scope: str, subject: str, now: datetime, window: timedelta, limit: int) -> None:
    """Count one request of ``subject``; RateLimited when it is beyond ``limit`` in this window.
    In the caller's transaction: the caller commits (a refused request stays counted)."""
    start = window_start(now, window)
    statement = _upsert(db.session.get_bind().dialect.name)
    hits = db.session.execute(statement, {"scope": scope, "subject": subject[:128], "start": start}).scalar_one()
    if hits > limit:
        raise RateLimited(scope, max(1, int((start + window - now).total_seconds() + 0.999)))


def forget_old_windows(now: datetime, window: timedelta) -> None:
    """Windows that ended are never read again (an indexed range on window_start)."""
    db.session.execute(delete(StatusLookupLimit).where(StatusLookupLimit.window_start < window_start(now, window)))
