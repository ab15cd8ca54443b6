"""The public status: which outages the public sees, in public words, grouped by region and
service. Only what a subscriber may read: no description, causes, responder, staff names,
internal notes or personal data; subscriber counts only when the policy allows.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from app.incidents import public_view
from app.incidents import service as incidents
from app.incidents.models import Incident, Status
from app.policy import Policy
from app.service_names import service_name

# The public's words for the lifecycle (the console's 登记/已上报 are internal steps).
PUBLIC_STATES = {
    Status.declared.value: ("identified", "故障已确认，正在排查"),
    Status.reported.value: ("repairing", "正在抢修"),
    Status.responding.value: ("repairing", "正在抢修"),
    Status.recovered.value: ("recovered", "已恢复"),
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _outage(incident: Incident, update: public_view.PublicUpdate | None, policy: Policy) -> dict:
    code, label = PUBLIC_STATES[incident.status]
    outage = {
        "number": incident.number,
        "state": code,
        "state_label": label,
        "services": [{"code": code_, "name": service_name(code_)} for code_ in incident.services],
        "regions": list(incident.regions),
        "started_at": _iso(incident.detected_at),
        "expected_recovery_at": _iso(incident.estimated_recovery_at),
        "recovered_at": _iso(incident.recovered_at),
        "last_update": {"message": update.message, "at": _iso(update.at)} if update else None,
    }
    if policy.public_status["show_affected_counts"]:
        outage["affected_subscribers"] = incidents.affected_count(incident, policy)
    return outage


def _by_region_and_service(outages: list[dict]) -> list[dict]:
    """Region → service → outage numbers, regions and services in name order."""
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for outage in outages:
        for region in outage["regions"]:
            for service in outage["services"]:
                grouped[region][service["code"]].append(outage["number"])
    return [
        {"region": region, "services": [
            {"code": code, "name": service_name(code), "outages": numbers}
            for code, numbers in sorted(services.items(), key=lambda item: service_name(item[0]))
        ]}
        for region, services in sorted(grouped.items())
    ]


def public_status(now: datetime, policy: Policy) -> tuple[dict, datetime | None]:
    """The status and the moment it goes stale by itself (a recovered outage leaving the
    window), None when only a change can make it stale. Nothing in it depends on ``now`` but
    the window, so processes rendering the same data give the same bytes (and ETag)."""
    window = timedelta(hours=policy.public_status["recently_recovered_hours"])
    shown = public_view.outages_for_public(now - window)
    updates = public_view.last_public_updates([incident.id for incident in shown])
    outages = [_outage(incident, updates.get(incident.id), policy) for incident in shown]
    leaves = [incident.recovered_at + window for incident in shown if incident.recovered_at]
    status = {
        "as_of": _iso(max((incident.updated_at for incident in shown), default=None)),
        "recently_recovered_hours": policy.public_status["recently_recovered_hours"],
        "open_count": sum(1 for outage in outages if outage["state"] != "recovered"),
        "outages": outages,
        "regions": _by_region_and_service(outages),
    }
    return status, min(leaves) if leaves else None
