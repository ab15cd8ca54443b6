"""What the declare form shows before anything is declared: the grade the service would propose."""
from __future__ import annotations

from sqlalchemy import distinct, select

from app.extensions import db
from app.incidents.grading import propose_level
from app.incidents.models import Level
from app.policy import current_policy
from app.subscribers.scope_profile import profile as scope_profile
from app.subscribers.models import Subscriber, SubscriberService

SUGGESTION_LIMIT = 300


def preview(services: list[str], regions: list[str]) -> dict:
    """The same proposal service.declare makes (grading.propose_level over the affected count)."""
    if not services or not regions:
        return {"proposed_level": None, "label": "填写业务与区域后给出建议定级", "affected_subscribers": None}
    policy = current_policy()
    affected = scope_profile(services, regions, policy).affected
    level = propose_level(services, regions, affected, policy)
    return {"proposed_level": level, "label": Level(level).label, "affected_subscribers": affected}


def known_scope() -> dict[str, list[str]]:
    """Suggestions for the services and regions inputs: the policy's names and those subscribers have."""
    grading = current_policy().grading
    compensation = current_policy().compensation
    services = db.session.scalars(select(distinct(SubscriberService.service)).limit(SUGGESTION_LIMIT)).all()
    regions = db.session.scalars(select(distinct(Subscriber.region)).limit(SUGGESTION_LIMIT)).all()
    return {
        "services": sorted({*grading["key_services"], *grading["all_services_markers"],
                            *compensation["data_services"], *services}),
        "regions": [*grading["all_regions_markers"], *sorted(set(regions))],
    }
