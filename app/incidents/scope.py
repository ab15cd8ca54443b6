"""Which incident's scope covers one subscriber: the reverse of the affected set (RULES §8 linking).

One indexed query over the incidents (``ix_incidents_status``) with the scope's JSON lists
tested in SQL, so linking a complaint costs the same with one open incident or fifty.
"""
from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, literal, or_, select

from app.catalog.service import ancestors_of
from app.extensions import db
from app.incidents.models import Incident, Status
from app.policy import Policy
from app.subscribers.models import SubscriberService

OPEN = (Status.declared.value, Status.reported.value, Status.responding.value)


def _elements(column, dialect: str):
    """The JSON array's items as a one-column table (``value``), on either database."""
    function = func.json_array_elements_text if dialect == "postgresql" else func.json_each
    return function(column).table_valued("value")


def _names_any(column, values, dialect: str) -> exists:
    items = _elements(column, dialect)
    return exists(select(literal(1)).select_from(items).where(items.c.value.in_(values)))


def incident_covering(subscriber_id: int | None, region: str, recovered_since: datetime, policy: Policy,
                      services: list[str] | None = None) -> Incident | None:
    """The newest incident, open or recovered since ``recovered_since``, whose services and regions
    take in this subscriber (same rule as ``subscribers.affected``); None when there is none.
    With ``services`` (a caller who is not a subscriber says where and what): those, not a subscriber's."""
    grading = policy.grading
    statement = _covering_statement(db.session.get_bind().dialect.name, tuple(grading["all_regions_markers"]),
                                    tuple(grading["all_services_markers"]), stated=services is not None)
    incident_id = db.session.scalar(statement, {"subscriber_id": subscriber_id, "region": region,
                                                "since": recovered_since, "services": services or []})
    return db.session.get(Incident, incident_id) if incident_id is not None else None


@functools.lru_cache(maxsize=16)
def _covering_statement(dialect: str, all_regions: tuple[str, ...], all_services: tuple[str, ...], stated: bool = False):
    """Built once per dialect and policy markers: a complaint burst runs it thousands of times, and
    building (and cache-keying) the statement anew cost several times the query itself (bench/complaints.py)."""
    own_services = (bindparam("services", expanding=True) if stated else
                    select(SubscriberService.service).where(SubscriberService.subscriber_id == bindparam("subscriber_id")))
    return (
        select(Incident.id)
        .where(Incident.drill.is_(False))   # a drill (演练) is no outage: a real complaint never links to it
        .where(or_(Incident.status.in_(OPEN),
                   and_(Incident.status == Status.recovered.value,
                        Incident.recovered_at >= bindparam("since", type_=Incident.recovered_at.type))))
        # The subscriber's own region, or one above it (a city's incident covers its districts).
        .where(or_(_names_any(Incident.regions, [bindparam("region"), *all_regions], dialect),
                   _names_any(Incident.regions, ancestors_of(bindparam("region")), dialect)))
        .where(or_(_names_any(Incident.services, own_services, dialect),
                   _names_any(Incident.services, list(all_services), dialect)))
        .order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(1)
    )
