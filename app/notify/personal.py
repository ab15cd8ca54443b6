"""Filling each subscriber's own fields into the notices a sender claimed (see placeholders.py).

``render_for_recipients(outgoing, policy)`` is the ONE place the final text of a
subscriber notice is made: it takes the claimed chunk (each item with ``body`` = the
batch's text with markers, ``batch_id``, ``subscriber_id``) and returns the items with the
text each person receives and its real SMS segment count (a long name or many services can
push a UCS-2 text into a second segment; the rate limiter and ``notices.segments`` use this
count). The fields of the whole chunk are read set-based: one query for the batches'
incidents, one for the subscribers with their services, and — only when a compensation
notice is in the chunk — one for their current ledger figures. Never a query per notice.
A text without markers (complaint messages, progress updates) passes through untouched.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Sequence, TypeVar

from sqlalchemy import bindparam, select

from app.compensation.money import fen_to_yuan
from app.extensions import db
from app.incidents.models import Incident
from app.notify.models import NoticeBatch
from app.notify.placeholders import GENERIC_COMPENSATION, MARKER, NEUTRAL_GREETING, fields_in, has_markers
from app.notify.templates import LANGUAGES, count_segments
from app.policy import Policy
from app.service_names import service_name
from app.subscribers.models import Subscriber, SubscriberService

T = TypeVar("T")


@dataclasses.dataclass
class _Person:
    name: str = ""
    language: str = "zh-CN"
    services: list[str] = dataclasses.field(default_factory=list)


def render_for_recipients(outgoing: Sequence[T], policy: Policy) -> list[T]:
    """The chunk with each personal text filled in and its segments counted (see module doc);
    the items are updated in place and returned in their order."""
    default_language = policy.data["notices"]["default_language"]
    all_services_markers = policy.grading["all_services_markers"]
    personal = [item for item in outgoing if item.subscriber_id is not None and has_markers(item.body)]
    if not personal:
        return list(outgoing)
    wanted = set().union(*(fields_in(item.body) for item in personal))
    incidents = _incidents_of({item.batch_id for item in personal})
    people = _people({item.subscriber_id for item in personal}, with_services="own_services" in wanted)
    credits = {}
    if "compensation" in wanted:
        from app.compensation.ledger import current_figures  # lazy: compensation imports the outbox
        credits = current_figures([(incidents[item.batch_id][0], item.subscriber_id) for item in personal
                                   if item.batch_id in incidents and "compensation" in fields_in(item.body)])
    for item in personal:
        incident_id, incident_services = incidents.get(item.batch_id, (None, []))
        person = people.get(item.subscriber_id, _Person())
        language = person.language if person.language in LANGUAGES else default_language
        values = {
            "greeting": lambda: greeting(person.name, language),
            "own_services": lambda: own_services(person.services, incident_services, language, all_services_markers),
            "compensation": lambda: compensation_text(credits.get((incident_id, item.subscriber_id)), language),
        }
        # In place: the items are this chunk's own (a copy per message cost more than the fill).
        item.body = MARKER.sub(lambda m: values[m.group(1)](), item.body)
        item.segments = count_segments(item.body).segments
    return list(outgoing)


def greeting(name: str, language: str) -> str:
    name = " ".join((name or "").split())   # no line breaks or runs of spaces from a CSV import
    if not name:
        return NEUTRAL_GREETING.get(language, "")
    return f"尊敬的{name}" if language == "zh-CN" else f"Dear {name}, "


def own_services(mine: list[str], incident_services: list[str], language: str, all_services_markers=()) -> str:
    """The subscriber's services that the incident touches, in the incident's order; all of
    theirs when the incident covers every service; the incident's list when nothing matches
    (the scope changed after queuing): never an empty phrase."""
    if any(s in all_services_markers for s in incident_services):
        chosen = sorted(mine) or incident_services
    else:
        chosen = [s for s in incident_services if s in set(mine)] or incident_services
    return ("、" if language == "zh-CN" else ", ").join(service_name(s, language) for s in chosen)


def compensation_text(figures: tuple[int, int] | None, language: str) -> str:
    """The subscriber's own credit, exact: 话费补偿12.50元、流量补偿5GB. No ledger entry → the
    generic sentence (never an invented amount)."""
    if figures is not None and not any(figures):   # an adjustment approved down to nothing
        return "经核定本次无补偿金额" if language == "zh-CN" else "no credit is due for this outage"
    fen, gb = figures or (0, 0)
    if language == "zh-CN":
        parts = ([f"话费补偿{fen_to_yuan(fen)}元"] if fen else []) + ([f"流量补偿{gb}GB"] if gb else [])
        return ("已为您办理" + "、".join(parts) + "，已计入您的账户") if parts else GENERIC_COMPENSATION["zh-CN"]
    parts = ([f"CNY {fen_to_yuan(fen)}"] if fen else []) + ([f"{gb} GB of data"] if gb else [])
    return ("we credited " + " and ".join(parts) + " to your account") if parts else GENERIC_COMPENSATION["en"]


def _incidents_of(batch_ids: set[int]) -> dict[int, tuple[int, list[str]]]:
    rows = db.session.execute(select(NoticeBatch.id, Incident.id, Incident.services)
                              .join(Incident, Incident.id == NoticeBatch.incident_id)
                              .where(NoticeBatch.id.in_(bindparam("batch_ids", expanding=True))),
                              {"batch_ids": sorted(batch_ids)})
    return {batch_id: (incident_id, list(services or [])) for batch_id, incident_id, services in rows}


def _people(subscriber_ids: set[int], *, with_services: bool) -> dict[int, _Person]:
    """Name, language and (when asked) services of the chunk's subscribers: one query."""
    columns = [Subscriber.id, Subscriber.name, Subscriber.language]
    # An expanding parameter: SQLAlchemy does not coerce 200 literals one by one (half the cost).
    query = select(*columns).where(Subscriber.id.in_(bindparam("ids", expanding=True)))
    if with_services:
        query = query.add_columns(SubscriberService.service).outerjoin(
            SubscriberService, SubscriberService.subscriber_id == Subscriber.id)
    people: dict[int, _Person] = defaultdict(_Person)
    for row in db.session.execute(query, {"ids": sorted(subscriber_ids)}):
        person = people[row[0]]
        person.name, person.language = row[1] or "", row[2] or ""
        if with_services and row[3] is not None:
            person.services.append(row[3])
    return dict(people)
