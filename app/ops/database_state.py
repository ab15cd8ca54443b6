"""What this process has seen of the database that a ``SELECT 1`` cannot tell: a full disk.

SQLite answers reads on a full disk and refuses every write that needs a new page with
"database or disk is full"; the health probe must say so. A refused write is remembered
until an INSERT succeeds again.
"""
from __future__ import annotations

import logging
import shutil
import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.clock import utcnow
from app.errors import DISK_FULL

log = logging.getLogger(__name__)
_lock = threading.Lock()
_disk_full_since: datetime | None = None


def disk_full_since() -> datetime | None:
    return _disk_full_since


@event.listens_for(Engine, "handle_error")
def _note_disk_full(context) -> None:
    global _disk_full_since
    if DISK_FULL in str(context.original_exception):
        with _lock:
            if _disk_full_since is None:
                _disk_full_since = utcnow()
                log.error("the database refused a write: %s", DISK_FULL)


@event.listens_for(Engine, "after_cursor_execute")
def _note_write_succeeded(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ARG001
    global _disk_full_since
    if _disk_full_since is not None and context is not None and context.isinsert:
        with _lock:
            _disk_full_since = None
        log.info("the database accepts writes again")


def sqlite_free_bytes(database: str | None) -> int | None:
    """Free space on the file system of a SQLite database file (None in memory or unknown)."""
    if not database or database == ":memory:":
        return None
    try:
        return shutil.disk_usage(Path(database).resolve().parent).free
    except OSError:
        return None
