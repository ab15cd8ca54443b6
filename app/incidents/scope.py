"""Which incident's scope covers one subscriber: the reverse of the affected set (RULES §8 linking).

One indexed query over the incidents (``ix_incidents_status``) with the scope's JSON lists
tested in SQL, so linking a complaint costs the same with one open incident or fifty.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, literal, or_, select

from app.extensions import db
from app.incidents.models import Incident, Status
from app.policy import Policy
from app.subscribers.models import SubscriberService

OPEN = (Status.declared.value, Status.reported.value, Status.responding.value)


def _elements(column):
    """The JSON array's items as a one-column table (``value``), on either database."""
    dialect = db.session.get_bind().dialect.name
    function = func.json_array_elements_text if dialect == "postgresql" else func.json_each
    return function(column).table_valued("value")


def _names_any(column, values) -> exists:
    items = _elements(column)
    return exists(select(literal(1)).select_from(items).where(items.c.value.in_(values)))


def incident_covering(subscriber_id: int, region: str, recovered_since: datetime, policy: Policy) -> Incident | None:
    """The newest incident, open or recovered since ``recovered_since``, whose services and regions
    take in this subscriber (same rule as ``subscribers.affected``); None when there is none."""
    grading = policy.grading
    own_services = select(SubscriberService.service).where(SubscriberService.subscriber_id == subscriber_id)
    query = (
        select(Incident)
        .where(or_(Incident.status.in_(OPEN),
                   and_(Incident.status == Status.recovered.value, Incident.recovered_at >= recovered_since)))
        .where(_names_any(Incident.regions, [region, *grading["all_regions_markers"]]))
        .where(or_(_names_any(Incident.services, own_services),
                   _names_any(Incident.services, list(grading["all_services_markers"]))))
        .order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(1)
    )
    return db.session.scalar(query)
