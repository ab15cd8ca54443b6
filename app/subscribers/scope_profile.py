"""What an incident's scope holds, summed once per change of the subscriber data, not per view.

A console page or an API detail of a live incident touching a million subscribers needs the
affected count (and, once recovered, the compensation preview's totals). Both follow from one
small profile of the scope — how many affected subscribers pay each monthly fee, with or without
a data service — so the profile is computed with one GROUP BY and kept in this process,
keyed by everything it depends on:

- the scope (services, and the regions as expanded down the catalog) and the policy version
  (its all-regions/all-services markers and its data services);
- the subscriber data version (``SubscriberDataVersion``), a token the database triggers
  change with every write to subscribers or their services, in the writer's transaction.

The preview's totals then take O(distinct fees) in Python for any outage length, so the
minutes growing by the second never re-read the subscribers. Each process keeps its own
small cache (several web processes each compute a version once); a stale entry cannot be
served, because its key no longer matches.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.policy import Policy
from app.catalog.service import regions_within
from app.subscribers.affected import affected_subscriber_ids, covers_all_regions
from app.subscribers.models import Subscriber, SubscriberDataVersion, SubscriberService

MAX_CACHED = 256
_cache: "OrderedDict[tuple, ScopeProfile]" = OrderedDict()
_lock = threading.Lock()
computed = {"count": 0}  # profiles computed in this process (tests, health)


@dataclass(frozen=True)
class ScopeProfile:
    affected: int
    # (monthly_fee_fen, holds a data service, subscribers) for every such group in scope
    fees: tuple[tuple[int, bool, int], ...]


def data_version() -> int | None:
    return db.session.scalar(select(SubscriberDataVersion.version).where(SubscriberDataVersion.name == "subscribers"))


def profile(services: list[str], regions: list[str], policy: Policy) -> ScopeProfile:
    """The scope's profile, from this process's cache when the subscriber data did not change."""
    # Read the version first: data committed after it can only make the profile newer than its key.
    key = (str(db.engine.url), tuple(sorted(services)), _region_key(regions, policy), policy.version, data_version())
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    fresh = _compute(services, regions, policy)
    with _lock:
        _cache[key] = fresh
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
        computed["count"] += 1
    return fresh


def _region_key(regions: list[str], policy: Policy) -> tuple[str, ...]:
    """The regions as the affected set reads them: expanded down the catalog (a city covers its
    districts), so a change of the catalog's tree is a new key too."""
    if covers_all_regions(regions, policy):
        return ("*",)
    return tuple(sorted(regions_within(regions)))


def clear() -> None:
    with _lock:
        _cache.clear()


def data_subscribers(policy: Policy):
    """Subscribers holding any of the policy's data services, as a set to LEFT JOIN (one hash
    join, not a correlated EXISTS per subscriber)."""
    return (
        select(SubscriberService.subscriber_id)
        .where(SubscriberService.service.in_(policy.compensation["data_services"]))
        .group_by(SubscriberService.subscriber_id)
        .subquery("data_subscribers")
    )


def _compute(services: list[str], regions: list[str], policy: Policy) -> ScopeProfile:
    data = data_subscribers(policy)
    holds_data = data.c.subscriber_id.is_not(None)
    rows = db.session.execute(
        affected_subscriber_ids(services, regions, policy)
        .with_only_columns(Subscriber.monthly_fee_fen, holds_data, func.count(), maintain_column_froms=True)
        .outerjoin(data, data.c.subscriber_id == Subscriber.id)
        .group_by(Subscriber.monthly_fee_fen, holds_data)
    ).all()
    fees = tuple((int(fee), bool(has_data), int(count)) for fee, has_data, count in rows)
    return ScopeProfile(affected=sum(count for _, _, count in fees), fees=fees)
