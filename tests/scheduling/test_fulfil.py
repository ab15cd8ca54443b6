"""scheduling.service.fulfil: the call the notifier and the report domain make."""
from __future__ import annotations

from freezegun import freeze_time

from app.extensions import db
from app.incidents import service as incidents
from app.scheduling import service as deadlines_service
from tests import factories
from tests.scheduling.walk import T0, at, deadlines, minutes, recover, report, respond


def recovered_incident(api, frozen, **declare_kwargs):
    incident = factories.declared(api, detected_at=T0, **declare_kwargs)
    frozen.move_to(T0 + minutes(1))
    report(api, incident["id"])
    respond(api, incident["id"], emergency=declare_kwargs.get("major", False) or declare_kwargs.get("level") == 1)
    frozen.move_to(T0 + minutes(30))
    recover(api, incident["id"])
    return incidents.get_incident(incident["id"])


def test_fulfil_is_idempotent_and_ignores_what_is_not_owed(operator_api):
    with freeze_time(T0) as frozen:
        incident = recovered_incident(operator_api, frozen)
        frozen.move_to(T0 + minutes(40))
        assert deadlines_service.fulfil(incident, "analysis_report", T0 + minutes(35)) == "met"
        assert deadlines_service.fulfil(incident, "analysis_report", T0 + minutes(39)) is None
        assert deadlines_service.fulfil(incident, "formal_notice", T0 + minutes(39)) is None  # not major
        db.session.commit()
        found = deadlines(operator_api, incident.id)
    assert at(found["analysis_report"]["met_at"]) == T0 + minutes(35)
    assert "formal_notice" not in found


def test_recovery_with_nobody_to_notify_meets_the_notice_deadline_at_once(operator_api):
    """The recovery flow creates the notice deadlines before it queues the recovery notice, so
    an empty notice (no subscriber in scope) meets its deadline in the recovery transaction."""
    with freeze_time(T0) as frozen:
        incident = recovered_incident(operator_api, frozen)
        found = deadlines(operator_api, incident.id)
    assert found["recovery_notice"]["state"] == "met"
    assert at(found["recovery_notice"]["met_at"]) == T0 + minutes(30)
    assert found["analysis_report"]["state"] == "pending"


def test_fulfil_after_cancel_changes_nothing(operator_api, manager_api):
    with freeze_time(T0):
        incident = factories.declared(operator_api, detected_at=T0)
        manager_api.post(f"/incidents/{incident['id']}/cancel", json={"reason": "误报"})
        assert deadlines_service.fulfil(incidents.get_incident(incident["id"]), "report", T0) is None
        db.session.commit()
        assert deadlines(operator_api, incident["id"])["report"]["state"] == "cancelled"
