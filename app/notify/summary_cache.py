"""An incident's notice counts (batch × status), counted once per change, not once per view.

The notices panel and ``GET /incidents/{id}/notifications`` used to GROUP BY every notice of the
incident on every view: at 1,000,000 notices, seconds per view. The counts are now kept in this
process, keyed by the engine and the incident, with the *change version* of its notices: the
latest ``notices.updated_at`` of the incident, one entry read from ``ix_notices_incident_updated``
(every write to a notice stamps it, queuing included).

Two rules decide whether the kept counts may be served:
- live (something changed recently): for ``NOC_NOTICE_SUMMARY_TTL_SECONDS`` (10) after they were counted;
  a writer that took ``now`` before its commit can commit a change stamped earlier than the
  version already seen, so the version alone cannot be trusted while changes are in flight;
- settled: counted at least ``NOC_NOTICE_SUMMARY_SETTLE_SECONDS`` (300) after the last change (no write
  transaction lasts that long, so none can still commit a change stamped before it), and the
  version is still the same: exact until any notice of the incident changes again.

Each process keeps its own small cache; a stale entry is bounded by the TTL while live, and
never served once the version moves.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.clock import ensure_aware_utc, utcnow
from app.extensions import db
from app.notify.models import Notice

MAX_CACHED = 512
DEFAULT_TTL_SECONDS = 10.0
DEFAULT_SETTLE_SECONDS = 300.0  # longer than any write transaction to notices (a 1M fan-out: ~15 s)
_cache: "OrderedDict[tuple, Counted]" = OrderedDict()
_lock = threading.Lock()
computed = {"count": 0}  # counts computed in this process (tests, bench)


@dataclass(frozen=True)
class Counted:
    # {batch_id: {status: n}} and {kind: {status: n}} of the incident's notices
    by_batch: dict[int, dict[str, int]]
    by_kind: dict[str, dict[str, int]]
    version: datetime | None   # the latest change stamp when counted
    counted_at: datetime
    settled: bool               # counted long enough after the last change: exact while the version holds


def change_version(incident_id: int) -> datetime | None:
    """The latest change of any notice of the incident (one index entry)."""
    value = db.session.scalar(select(func.max(Notice.updated_at)).where(Notice.incident_id == incident_id))
    return ensure_aware_utc(value) if value is not None else None


def counts(incident_id: int) -> Counted:
    ttl = timedelta(seconds=float(current_app.config.get("NOC_NOTICE_SUMMARY_TTL_SECONDS", DEFAULT_TTL_SECONDS)))
    settle = timedelta(seconds=float(current_app.config.get("NOC_NOTICE_SUMMARY_SETTLE_SECONDS",
                                                            DEFAULT_SETTLE_SECONDS)))
    now = utcnow()
    key = (str(db.engine.url), incident_id)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and now - cached.counted_at < ttl and now >= cached.counted_at:
        return cached
    # Read the version before the counts: a change committed in between only makes them newer.
    version = change_version(incident_id)
    if cached is not None and cached.settled and cached.version == version:
        return cached
    fresh = _count(incident_id, version, now, settle)
    with _lock:
        _cache[key] = fresh
        _cache.move_to_end(key)
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
    return fresh


def _count(incident_id: int, version: datetime | None, now: datetime, settle: timedelta) -> Counted:
    by_batch: dict[int, dict[str, int]] = {}
    by_kind: dict[str, dict[str, int]] = {}
    for batch_id, kind, status, n in db.session.execute(
            select(Notice.batch_id, Notice.kind, Notice.status, func.count()).where(Notice.incident_id == incident_id)
            .group_by(Notice.batch_id, Notice.kind, Notice.status)):
        by_batch.setdefault(batch_id, {})[status] = n
        kind_counts = by_kind.setdefault(kind, {})
        kind_counts[status] = kind_counts.get(status, 0) + n
    computed["count"] += 1
    return Counted(by_batch, by_kind, version, now, version is not None and now - version >= settle)


def clear() -> None:
    with _lock:
        _cache.clear()
