"""The console's incident page of a live incident, and its compensation preview after recovery,
read the scope's cached profile: views do not recount a million subscribers."""
from __future__ import annotations

from datetime import timedelta

from app.auth.models import Role
from app.clock import utcnow
from app.incidents.models import Status
from app.subscribers import scope_profile
from tests import factories


def _computed() -> int:
    return scope_profile.computed["count"]


def test_the_live_incident_page_does_not_recount(operator, operator_api):
    factories.subscribers(factories.phones(3), services=["mobile_data"])
    incident = factories.declared(operator_api, services=["mobile_data"], regions=["杭州"])
    before = _computed()
    for _ in range(3):
        page = operator.get(f"/incidents/{incident['id']}")
        assert page.status_code == 200
    assert _computed() == before


def test_the_recovered_incident_page_and_preview_recompute_only_after_a_subscriber_write(operator, make_user):
    factories.subscribers(factories.phones(3), services=["mobile_data"])
    manager, _ = make_user(Role.duty_manager)
    incident = factories.incident_in(Status.recovered, manager, services=["mobile_data"], regions=["杭州"],
                                     detected_at=utcnow() - timedelta(hours=3))
    operator.get(f"/incidents/{incident.id}")
    before = _computed()
    for _ in range(2):
        page = operator.get(f"/incidents/{incident.id}").get_data(as_text=True)
        assert "补偿" in page
    assert _computed() == before
    factories.subscribers(factories.phones(1, start=20), services=["mobile_data"])
    operator.get(f"/incidents/{incident.id}")
    assert _computed() == before + 1
