from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db


class WorkerHeartbeat(db.Model):
    """One row per worker process (sender, scheduler), rewritten every few seconds while it lives.

    The database, not a process's memory, is where /healthz and /metrics in any process learn
    whether a sender or a scheduler is alive anywhere.
    """

    __tablename__ = "worker_heartbeats"
    __table_args__ = (Index("ix_worker_heartbeats_kind_beat_at", "kind", "beat_at"),)

    worker: Mapped[str] = mapped_column(String(120), primary_key=True)  # kind:host:pid
    kind: Mapped[str] = mapped_column(String(20))                       # sender | scheduler
    host: Mapped[str] = mapped_column(String(80))
    pid: Mapped[int] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(20))               # scheduler: active | standby
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())
