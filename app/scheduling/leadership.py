"""Which process judges deadlines.

PostgreSQL: the one holding a session-level advisory lock on a dedicated connection. The
lock dies with that connection, so when the active scheduler's process dies the server
releases it at once and a standby takes it on its next tick (every ``poll`` seconds).

SQLite: the embedded default is one process (``flask serve`` with the scheduler inside,
or one ``flask scheduler run``); every runner considers itself active. Judging stays
exactly-once even if two ran by mistake, because each claim is a conditional UPDATE.
"""
from __future__ import annotations

import logging
import os
import threading

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from app.config import postgresql_connect_args

log = logging.getLogger(__name__)

# Fixed key of the "deadline scheduler" advisory lock (ASCII "NOCSCHED").
ADVISORY_LOCK_KEY = 0x4E4F43534348454
APPLICATION_NAME = f"noc-scheduler-{os.getpid()}"
# Every statement on the leadership connection is instant (SELECT 1, pg_try_advisory_lock):
# one that is not means the server is in trouble, and the scheduler stands by at once.
LEADERSHIP_STATEMENT_TIMEOUT_SECONDS = 3


class SingleProcessLeadership:
    kind = "single-process"

    def ensure(self) -> bool:
        return True

    def release(self) -> None:
        pass


class AdvisoryLockLeadership:
    kind = "postgresql-advisory-lock"

    def __init__(self, url: sa.engine.URL | str, connect_timeout: int = 5) -> None:
        connect_args = postgresql_connect_args(connect_timeout, LEADERSHIP_STATEMENT_TIMEOUT_SECONDS)
        self._engine = sa.create_engine(url, poolclass=NullPool,
                                        connect_args={**connect_args, "application_name": APPLICATION_NAME})
        self._connection: sa.Connection | None = None
        self.held = False
        self._closed = False
        self._lock = threading.Lock()  # the watch job and shutdown may call in at once

    def ensure(self) -> bool:
        """True when this process holds the lock (taking it if free); checks the connection is alive."""
        with self._lock:
            if self._closed:
                return False
            return self._ensure()

    def _ensure(self) -> bool:
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self.held:
                self._connection.execute(sa.text("SELECT 1"))
                return True
            self.held = bool(self._connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar())
            if self.held:
                log.info("deadline scheduler: this process (%s) is now the active scheduler", APPLICATION_NAME)
            return self.held
        except sa.exc.DBAPIError as exc:
            log.warning("deadline scheduler: lost the leadership connection (%s); standing by", exc.__class__.__name__)
            self._drop()
            return False

    def _drop(self) -> None:
        self.held = False
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:  # noqa: BLE001 - the connection is already broken
                pass
        self._connection = None

    def release(self) -> None:
        """Give the lock up for good (this runner is stopping): a standby takes over at once."""
        with self._lock:
            self._closed = True
            if self._connection is not None and self.held:
                try:
                    self._connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                except sa.exc.DBAPIError:
                    pass
            self._drop()
            self._engine.dispose()


def leadership_for(engine: sa.Engine, connect_timeout: int = 5):
    if engine.dialect.name == "postgresql":
        return AdvisoryLockLeadership(engine.url, connect_timeout)
    return SingleProcessLeadership()
