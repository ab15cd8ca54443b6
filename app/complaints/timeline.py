"""The complaint's append-only history (归档). Every change to a complaint records one event."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Select, String, insert, literal, null, select

from app.auth.models import User
from app.clock import utcnow
from app.complaints.models import ComplaintEvent
from app.complaints.timeline_kinds import ComplaintEventKind
from app.db_types import UTCDateTime
from app.extensions import db

SYSTEM_ACTOR = "system"


def record(complaint_id: int, kind: ComplaintEventKind, *, actor: User | None, message: str = "",
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> ComplaintEvent:
    """Append an event in the caller's transaction; ``actor`` None means the system itself.
    An unknown ``kind`` raises ValueError: every kind is registered with its label."""
    event = ComplaintEvent(complaint_id=complaint_id, kind=ComplaintEventKind(kind).value, at=utcnow(), actor_id=actor.id if actor else None,
                           actor_name=actor.name if actor else SYSTEM_ACTOR, message=message, before=before,
                           after=after)
    db.session.add(event)
    return event


def record_from_select(events: Select) -> int:
    """One system event per row of ``events`` (columns ``complaint_id``, ``kind`` (a ``ComplaintEventKind``), ``message``,
    ``after``), in one INSERT … SELECT — for set-based writers such as the deadline judge."""
    return db.session.execute(insert_from_select(events)).rowcount


def insert_from_select(events: Select) -> Insert:
    """The statement of :func:`record_from_select`, unexecuted (a part of the judge's CTE on PostgreSQL)."""
    source = events.subquery()
    columns = ["complaint_id", "kind", "at", "actor_id", "actor_name", "message", "after"]
    rows = select(source.c.complaint_id, source.c.kind, literal(utcnow(), UTCDateTime()), null(),
                  literal(SYSTEM_ACTOR, String()), source.c.message, source.c.after)
    return insert(ComplaintEvent.__table__).from_select(columns, rows)
