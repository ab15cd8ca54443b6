"""Worker heartbeats: each sender and scheduler process rewrites its row every few seconds.

A thread of its own writes the row, so a long batch never makes a live worker look dead;
what the worker itself reports (the scheduler's role) is read through ``role``. A write that
fails (the database is down) is logged once per outage and retried on the next beat.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import Callable

from flask import Flask
from sqlalchemy import delete, func, select

from app.clock import utcnow
from app.extensions import db
from app.ops.models import WorkerHeartbeat
from app.sql import dialect_insert

log = logging.getLogger(__name__)
KEEP_DEAD_WORKERS = timedelta(days=1)   # rows of workers gone longer than this are pruned


def worker_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def write_heartbeat(kind: str, worker: str, started_at: datetime, role: str | None = None) -> None:
    """Upsert this worker's row (commits)."""
    now = utcnow()
    values = {"worker": worker, "kind": kind, "host": socket.gethostname()[:80], "pid": os.getpid(), "role": role,
              "started_at": started_at, "beat_at": now}
    statement = dialect_insert(WorkerHeartbeat).values(**values)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["worker"], set_={"beat_at": now, "role": role}))
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - KEEP_DEAD_WORKERS))
    db.session.commit()


def latest_beats(kind: str | None = None) -> list[WorkerHeartbeat]:
    query = select(WorkerHeartbeat).order_by(WorkerHeartbeat.kind, WorkerHeartbeat.beat_at.desc())
    if kind:
        query = query.where(WorkerHeartbeat.kind == kind)
    return list(db.session.scalars(query))


def freshest_beat(kind: str) -> datetime | None:
    return db.session.scalar(select(func.max(WorkerHeartbeat.beat_at)).where(WorkerHeartbeat.kind == kind))


def heartbeat_seconds(app: Flask) -> float:
    return float(app.config.get("NOC_HEARTBEAT_SECONDS", 5))


class Heartbeat:
    """The heartbeat thread of one worker process."""

    def __init__(self, app: Flask, kind: str, role: Callable[[], str | None] | None = None) -> None:
        self.app = app
        self.kind = kind
        self.worker = worker_name(kind)
        self.role = role or (lambda: None)
        self.started_at = utcnow()
        self.interval = heartbeat_seconds(app)
        self.failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Heartbeat":
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}-heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        """No more beats; waits for one being written, so nothing is written after this returns."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def beat(self) -> bool:
        with self.app.app_context():
            try:
                write_heartbeat(self.kind, self.worker, self.started_at, self.role())
            except Exception as exc:  # noqa: BLE001 - a missed beat is what health is for
                db.session.rollback()
                if not self.failing:
                    log.warning("%s: heartbeat not written (%s)", self.worker, type(exc).__name__)
                self.failing = True
                return False
            finally:
                db.session.remove()
        if self.failing:
            log.info("%s: heartbeat written again", self.worker)
        self.failing = False
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(self.interval)
