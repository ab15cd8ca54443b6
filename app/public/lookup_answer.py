"""The verified answer of "is my line affected?": only the subscriber's own data.

For each outage on the status page whose scope takes in the subscriber (the subscribers
domain's affected set, so a scope means the same here as for the notices): the subscriber's
own affected services (their services within the incident's), its public state, expected
recovery and last public update. Then their own credits in the final ledgers of incidents
closed within ``status_lookup.compensation_days``.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.compensation.money import fen_to_yuan
from app.compensation.subscriber_credits import subscriber_credits
from app.extensions import db
from app.incidents import public_view
from app.incidents.models import Incident
from app.phones import mask
from app.policy import Policy
from app.public.service import PUBLIC_STATES
from app.service_names import service_name
from app.subscribers.affected import affected_subscriber_ids, covers_all_services
from app.subscribers.models import Subscriber


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def shown_outages(now: datetime, policy: Policy) -> list[Incident]:
    """The outages the status page shows now (open, or recovered within its window)."""
    return public_view.outages_for_public(now - timedelta(hours=policy.public_status["recently_recovered_hours"]))


def _affects(incident: Incident, subscriber_id: int, policy: Policy) -> bool:
    ids = affected_subscriber_ids(incident.services, incident.regions, policy).where(Subscriber.id == subscriber_id)
    return db.session.scalar(ids.limit(1)) is not None


def _own_services(incident: Incident, subscriber: Subscriber, policy: Policy) -> list[str]:
    if covers_all_services(incident.services, policy):
        return list(subscriber.services)
    return [code for code in subscriber.services if code in set(incident.services)]


def _outage(incident: Incident, subscriber: Subscriber, update, policy: Policy) -> dict:
    state, label = PUBLIC_STATES[incident.status]
    return {
        "number": incident.number,
        "state": state,
        "state_label": label,
        "services": [{"code": code, "name": service_name(code)} for code in _own_services(incident, subscriber, policy)],
        "started_at": _iso(incident.detected_at),
        "expected_recovery_at": _iso(incident.estimated_recovery_at),
        "recovered_at": _iso(incident.recovered_at),
        "last_update": {"message": update.message, "at": _iso(update.at)} if update else None,
    }


def _credit(credit: dict) -> dict:
    return {"incident_number": credit["incident_number"], "closed_at": _iso(credit["closed_at"]),
            "economic_credit": fen_to_yuan(credit["economic_credit_fen"]), "data_credit_gb": credit["data_credit_gb"]}


def verified_answer(phone: str, subscriber_id: int | None, shown: list[Incident], now: datetime,
                    policy: Policy) -> tuple[dict, list[int]]:
    """The answer and the ids of the shown outages that affect the subscriber."""
    subscriber = db.session.get(Subscriber, subscriber_id) if subscriber_id is not None else None
    if subscriber is None:
        # Reached only by guessing a code never sent (no subscriber has this number).
        return {"phone": mask(phone), "subscriber": False, "affected": False, "outages": [], "compensation": [],
                "as_of": _iso(now)}, []
    affecting = [incident for incident in shown if _affects(incident, subscriber.id, policy)]
    updates = public_view.last_public_updates([incident.id for incident in affecting])
    outages = [_outage(incident, subscriber, updates.get(incident.id), policy) for incident in affecting]
    since = now - timedelta(days=policy.status_lookup["compensation_days"])
    credits = [_credit(credit) for credit in subscriber_credits(subscriber.id, since)]
    return {"phone": mask(phone), "subscriber": True,
            "affected": any(outage["state"] != "recovered" for outage in outages),
            "outages": outages, "compensation": credits, "as_of": _iso(now)}, [i.id for i in affecting]


def subscriber_of(phone: str) -> int | None:
    return db.session.scalar(select(Subscriber.id).where(Subscriber.phone == phone))
