"""The append-only timeline (处理过程). Every change to an incident records one event here."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Select, String, insert, literal, null, select

from app.auth.models import User
from app.clock import utcnow
from app.db_types import UTCDateTime
from app.extensions import db
from app.incidents.models import Incident, TimelineEvent
from app.incidents.timeline_kinds import EventKind

SYSTEM_ACTOR = "system"


def record(incident: Incident, kind: EventKind, *, actor: User | None, message: str = "",
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> TimelineEvent:
    """Append an event in the caller's transaction; ``actor`` None means the system itself.

    An unknown ``kind`` raises ValueError: every kind is registered with its label."""
    event = TimelineEvent(
        incident_id=incident.id,
        kind=EventKind(kind).value,
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else SYSTEM_ACTOR,
        message=message,
        before=before,
        after=after,
    )
    db.session.add(event)
    return event


def record_from_select(events: Select) -> int:
    """Append one system event per row of ``events``, in one INSERT … SELECT (caller's transaction).

    For set-based writers such as the deadline judge, which may record tens of thousands of
    breaches at start-up. ``events`` yields the columns ``incident_id``, ``kind`` (an
    ``EventKind`` value), ``message`` and ``after`` (JSON); the actor is the system and ``at`` is now.
    """
    return db.session.execute(insert_from_select(events)).rowcount


def insert_from_select(events: Select) -> Insert:
    """The statement of :func:`record_from_select`, unexecuted: a writer may run it as one part of a
    larger statement (the judge's data-modifying CTE on PostgreSQL)."""
    source = events.subquery()
    columns = ["incident_id", "kind", "at", "actor_id", "actor_name", "message", "after"]
    rows = select(
        source.c.incident_id, source.c.kind, literal(utcnow(), UTCDateTime()), null(),
        literal(SYSTEM_ACTOR, String()), source.c.message, source.c.after,
    )
    return insert(TimelineEvent.__table__).from_select(columns, rows)
