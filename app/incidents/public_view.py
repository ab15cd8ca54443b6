"""What the incidents domain lets the public status page read (app/public): the outages to
show and their last public progress update. Its change version is the live console's,
``service.change_marker()``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.incidents.models import Incident, Status, TimelineEvent
from app.incidents.timeline_kinds import EventKind

SHOWN_OPEN = (Status.declared.value, Status.reported.value, Status.responding.value)


@dataclass(frozen=True)
class PublicUpdate:
    message: str
    at: datetime


def outages_for_public(recovered_since: datetime) -> list[Incident]:
    """Open outages and those recovered since ``recovered_since``; cancelled (false alarms),
    closed ones and drills (演练: no outage) never. Oldest detection first."""
    query = (
        select(Incident)
        .where(Incident.drill.is_(False))
        .where(or_(Incident.status.in_(SHOWN_OPEN),
                   and_(Incident.status == Status.recovered.value, Incident.recovered_at >= recovered_since)))
        .order_by(Incident.detected_at, Incident.id)
    )
    return list(db.session.scalars(query))


def last_public_updates(incident_ids: list[int]) -> dict[int, PublicUpdate]:
    """Per incident, the newest progress update an operator marked public (one query)."""
    if not incident_ids:
        return {}
    is_public = TimelineEvent.after["public"].as_boolean().is_(True)
    newest = (
        select(func.max(TimelineEvent.id))
        .where(TimelineEvent.incident_id.in_(incident_ids), TimelineEvent.kind == EventKind.progress_update, is_public)
        .group_by(TimelineEvent.incident_id)
    )
    rows = db.session.execute(
        select(TimelineEvent.incident_id, TimelineEvent.message, TimelineEvent.at).where(TimelineEvent.id.in_(newest))
    )
    return {row.incident_id: PublicUpdate(row.message, row.at) for row in rows}
