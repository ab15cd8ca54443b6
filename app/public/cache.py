"""Render once per change, serve many: the public status under an outage's crowd.

A process keeps the last rendering of each representation (HTML, JSON) with the change
version it was rendered from: the live console's ``incidents.service.change_marker()`` (every
change to an incident appends a timeline event; read from the database, so every process
agrees) and the policy version. The change version itself is re-read at most every
``version_check_seconds``, so a hot page costs no database query at all; a rendering also
goes stale when a recovered outage leaves the policy's window.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable



@dataclass(frozen=True)
class Rendering:
    body: bytes
    mimetype: str
    etag: str
    key: tuple
    stale_at: datetime | None
    headers: dict[str, str]

    @classmethod
    def of(cls, body: bytes, mimetype: str, key: tuple, stale_at: datetime | None,
           headers: dict[str, str] | None = None) -> "Rendering":
        # The ETag is the content's digest: two processes rendering the same version agree on it.
        etag = hashlib.sha256(body).hexdigest()[:32]
        return cls(body, mimetype, etag, key, stale_at, headers or {})


class StatusCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._version_read_at: datetime | None = None
        self._renderings: dict[str, Rendering] = {}

    def version(self, now: datetime, check_every: timedelta, read: Callable[[], str]) -> str:
        with self._lock:
            if self._version is not None and self._version_read_at is not None \
                    and self._version_read_at <= now < self._version_read_at + check_every:
                return self._version
        version = read()
        with self._lock:
            self._version, self._version_read_at = version, now
        return version

    def rendering(self, kind: str, key: tuple, now: datetime, render: Callable[[], Rendering]) -> Rendering:
        """The rendering of ``kind`` for ``key`` (the change marker and the policy version)."""
        current = self._renderings.get(kind)
        if current is not None and current.key == key \
                and (current.stale_at is None or now < current.stale_at):
            return current
        # Two threads may render the same version at once; both results are identical.
        fresh = render()
        with self._lock:
            self._renderings[kind] = fresh
        return fresh

    def clear(self) -> None:
        with self._lock:
            self._version = self._version_read_at = None
            self._renderings.clear()
