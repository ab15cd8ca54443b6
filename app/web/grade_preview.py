"""What the declare form shows before anything is declared: the grade the service would propose."""
from __future__ import annotations

from app.catalog import service as catalog
from app.incidents.grading import propose_level
from app.incidents.models import Level
from app.policy import current_policy
from app.subscribers.affected import count_affected


def preview(services: list[str], regions: list[str]) -> dict:
    """The same proposal service.declare makes (grading.propose_level over the affected count)."""
    if not services or not regions:
        return {"proposed_level": None, "label": "填写业务与区域后给出建议定级", "affected_subscribers": None}
    policy = current_policy()
    affected = count_affected(services, regions, policy)
    level = propose_level(services, regions, affected, policy)
    return {"proposed_level": level, "label": Level(level).label, "affected_subscribers": affected}


def known_scope(markers: bool = True) -> dict[str, list]:
    """Choices for the services and regions inputs: the catalog (and, for an incident's scope, the
    policy's whole-network words)."""
    grading = current_policy().grading
    services = [s.code for s in catalog.services(active_only=True)]
    regions = [(r.code, r.name_zh if r.parent_code is None else f"{r.name_zh}（{r.parent_code}）")
               for r in catalog.regions()]
    if not markers:
        return {"services": services, "regions": regions}
    return {"services": [*services, *(m for m in grading["all_services_markers"] if m not in services)],
            "regions": [*((m, "全网") for m in grading["all_regions_markers"][:1]), *regions]}
