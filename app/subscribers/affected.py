"""Which subscribers an incident's scope touches (RULES §6), as one SQL statement."""
from __future__ import annotations

from sqlalchemy import Select, exists, func, select

from app.catalog.service import regions_within

from app.extensions import db
from app.policy import Policy
from app.subscribers.models import Subscriber, SubscriberService


def covers_all_regions(regions: list[str], policy: Policy) -> bool:
    return any(r in policy.grading["all_regions_markers"] for r in regions)


def covers_all_services(services: list[str], policy: Policy) -> bool:
    return any(s in policy.grading["all_services_markers"] for s in services)


def affected_subscriber_ids(services: list[str], regions: list[str], policy: Policy) -> Select:
    """SELECT subscribers.id of everyone in scope; callers embed it in INSERT … SELECT or count it.

    A region covers the regions below it in the catalog (a city its districts, a province all of
    its cities and districts): the codes are expanded first, by one indexed query on the catalog."""
    query = select(Subscriber.id)
    if not covers_all_regions(regions, policy):
        query = query.where(Subscriber.region.in_(regions_within(regions)))  # a list, not a subquery
    if not covers_all_services(services, policy):
        query = query.where(
            exists().where(SubscriberService.subscriber_id == Subscriber.id, SubscriberService.service.in_(services))
        )
    return query


def count_affected(services: list[str], regions: list[str], policy: Policy) -> int:
    ids = affected_subscriber_ids(services, regions, policy).subquery()
    return db.session.scalar(select(func.count()).select_from(ids)) or 0
