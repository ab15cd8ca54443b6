"""The live console's change versions: what an open board or incident page polls.

Short polling with conditional requests: a page asks ``GET /live/changes`` every couple of
seconds with the ETag of its last answer and nearly always gets an empty ``304``. The
version is read from the database (the newest timeline events, the pending deadlines, one
incident's notice counts), so any number of server processes behind a proxy agree on it, on
SQLite and PostgreSQL alike, and no request holds a server thread while it waits.

A notice count runs over every notice of the incident (hundreds of thousands during a big
recovery notice), so this process keeps each incident's for ``NOC_LIVE_CACHE_SECONDS``: fifty
consoles watching one incident cost one count per second, not fifty.
"""
from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from flask import current_app

from app.alerts import service as alert_service
from app.incidents import service as incident_service
from app.notify import service as notify_service
from app.scheduling import service as deadline_service

DEFAULT_CACHE_SECONDS = 1.0
_cache: dict[int, tuple[float, str]] = {}
_cache_lock = threading.Lock()


def _notice_progress(incident_id: int) -> str:
    ttl = float(current_app.config.get("NOC_LIVE_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(incident_id)
    if cached and cached[0] > now:
        return cached[1]
    marker = notify_service.progress_marker(incident_id)
    with _cache_lock:
        if len(_cache) > 1000:
            _cache.clear()
        _cache[incident_id] = (now + ttl, marker)
    return marker


def forget_cached() -> None:
    with _cache_lock:
        _cache.clear()


def _digest(*parts: str) -> str:
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


def versions(incident_id: int | None) -> dict[str, Any]:
    """{"board": …, "incident": … or None}: each changes exactly when its page has something new."""
    board = _digest(incident_service.change_marker(), deadline_service.change_marker(), alert_service.change_marker())
    incident = None
    if incident_id is not None:
        incident = _digest(incident_service.change_marker(incident_id), deadline_service.change_marker(incident_id),
                           _notice_progress(incident_id))
    return {"board": board, "incident": incident}


def etag_of(current: dict[str, Any], since: int | None) -> str:
    return _digest(current["board"], current["incident"] or "", str(since))


def changes(current: dict[str, Any], since: int | None) -> dict[str, Any]:
    """The poll's answer: the versions, the newest event id, and the alarms after ``since``."""
    return {**current, "cursor": incident_service.latest_event_id(),
            "alarms": incident_service.alarms_since(since) if since is not None else []}
