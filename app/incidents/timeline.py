"""The append-only timeline (处理过程). Every change to an incident records one event here."""
from __future__ import annotations

from typing import Any

from app.auth.models import User
from app.clock import utcnow
from app.extensions import db
from app.incidents.models import Incident, TimelineEvent

SYSTEM_ACTOR = "system"


def record(incident: Incident, kind: str, *, actor: User | None, message: str = "",
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> TimelineEvent:
    """Append an event in the caller's transaction; ``actor`` None means the system itself."""
    event = TimelineEvent(
        incident_id=incident.id,
        kind=kind,
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else SYSTEM_ACTOR,
        message=message,
        before=before,
        after=after,
    )
    db.session.add(event)
    return event
