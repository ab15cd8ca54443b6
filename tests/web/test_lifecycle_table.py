"""The console shows an action only where the incidents service allows it, to the API's roles."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time

from app.auth.models import Role
from app.errors import TransitionNotAllowed
from app.incidents import service
from app.incidents.models import Status
from app.web import lifecycle
from tests import factories

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def _incident_in(status: Status, actor):
    # Declared with its estimated recovery, so the report below needs none of its own.
    incident = factories.incident_in(status, actor, estimated_recovery_at=datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
    if status is Status.recovered:
        factories.ready_to_close(incident, actor)
    assert incident.status == status.value
    return incident


def _call(action: str, incident_id: int, actor) -> None:
    calls = {
        "report": lambda: service.report(incident_id, actor, fault_type="f", scope_summary="s", estimated_recovery_at=None),
        "respond": lambda: service.respond(incident_id, actor, responder="r", emergency_response=False),
        "update": lambda: service.post_update(incident_id, actor, message="m", notify_subscribers=False),
        "regrade": lambda: service.regrade(incident_id, actor, level=1, reason="扩大"),
        "responsibility": lambda: service.set_responsibility(
            incident_id, actor, [service.ResponsibilityEntry("external", "power_outage", "电力公司", 100)]),
        "recover": lambda: service.recover(incident_id, actor, summary="ok"),
        "cancel": lambda: service.cancel(incident_id, actor, reason="误报"),
        "close": lambda: service.close(incident_id, actor),
    }
    calls[action]()


@pytest.mark.parametrize("status", list(Status))
def test_the_console_offers_exactly_what_the_service_allows(app_ctx, make_user, status):
    actor, _ = make_user(Role.admin)
    with freeze_time(NOW):
        for name, action in lifecycle.ACTIONS.items():
            incident = _incident_in(status, actor)
            try:
                _call(name, incident.id, actor)
                service_allows = True
            except TransitionNotAllowed as refusal:
                from app.extensions import db
                db.session.rollback()
                service_allows = "missing" in refusal.details
            assert action.allowed_in(status.value) == service_allows, (name, status.value)


def test_console_actions_read_the_permissions_table(make_user):
    from app.auth import permissions
    for name, action in lifecycle.ACTIONS.items():
        for role in Role:
            user, _ = make_user(role, name=f"{name}-{role.value}")
            assert action.permits(user) == (role.value in permissions.roles_for(action.permission or name))
    assert lifecycle.ACTIONS["regrade"].permits(make_user(Role.operator, name="op-x")[0]) is False
