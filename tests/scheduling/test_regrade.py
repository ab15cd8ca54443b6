"""Regrading re-computes pending deadlines from the original detected_at; outcomes stay."""
from __future__ import annotations

from freezegun import freeze_time

from app.extensions import db
from app.incidents import service as incidents
from app.scheduling.judge import judge_due
from tests import factories
from tests.scheduling.walk import T0, at, deadlines, minutes, recover, report, respond, timeline_kinds


def regrade(api, incident_id, **body):
    response = api.post(f"/incidents/{incident_id}/regrade", json={"reason": "影响范围变化", **body})
    assert response.status_code == 200, response.json
    return response.json


def test_raising_to_level_one_moves_pending_windows_and_adds_emergency_response(operator_api, manager_api):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0 - minutes(10))
        detected = T0 - minutes(10)
        frozen.move_to(T0 + minutes(20))  # the report window (15 min) is breached by now
        judge_due()
        regrade(manager_api, incident["id"], level=1)
        found = deadlines(operator_api, incident["id"])
    assert at(found["response"]["due_at"]) == detected + minutes(120)
    assert at(found["recovery"]["due_at"]) == detected + minutes(240)
    assert at(found["emergency_response"]["due_at"]) == detected + minutes(30)
    assert found["report"]["state"] == "breached"  # an outcome already reached is kept
    event, = timeline_kinds(incident["id"], "deadlines_recomputed")
    assert event.before == {"response": (detected + minutes(480)).isoformat(),
                            "recovery": (detected + minutes(720)).isoformat()}
    assert event.after["moved"] == {"response": (detected + minutes(120)).isoformat(),
                                    "recovery": (detected + minutes(240)).isoformat()}
    assert event.after["added"] == {"emergency_response": (detected + minutes(30)).isoformat()}
    assert "响应时限调整" in event.message and "新增启动应急响应时限" in event.message


def test_regrade_keeps_met_deadlines_and_a_shorter_window_already_past_breaches(operator_api, manager_api):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(5))
        report(operator_api, incident["id"])
        frozen.move_to(T0 + minutes(150))
        regrade(manager_api, incident["id"], level=1)  # response now due at 120 min: already past
        judge_due()
        found = deadlines(operator_api, incident["id"])
    assert found["report"]["state"] == "met"
    assert found["response"]["state"] == "breached" and at(found["response"]["breached_at"]) == T0 + minutes(150)
    assert found["emergency_response"]["state"] == "breached"


def test_dropping_major_cancels_pending_major_only_kinds_and_marking_again_restores_them(operator_api, manager_api):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, level=2, major=True, detected_at=T0)
        frozen.move_to(T0 + minutes(5))
        regrade(manager_api, incident["id"], level=2, major=False)
        assert deadlines(operator_api, incident["id"])["emergency_response"]["state"] == "cancelled"
        regrade(manager_api, incident["id"], level=2, major=True, major_reason="重要客户投诉")
        found = deadlines(operator_api, incident["id"])
    assert found["emergency_response"]["state"] == "pending"
    assert at(found["emergency_response"]["due_at"]) == T0 + minutes(30)
    events = timeline_kinds(incident["id"], "deadlines_recomputed")
    assert events[0].after["cancelled"] == ["emergency_response"]
    assert list(events[1].after["added"]) == ["emergency_response"]


def test_marking_major_after_recovery_adds_the_formal_notice_from_recovered_at(operator_api, manager_api):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(1))
        report(operator_api, incident["id"])
        respond(operator_api, incident["id"], emergency=True)  # activated although not (yet) major
        frozen.move_to(T0 + minutes(60))
        recover(operator_api, incident["id"])
        frozen.move_to(T0 + minutes(70))
        regrade(manager_api, incident["id"], level=3, major=True, major_reason="媒体关注")
        found = deadlines(operator_api, incident["id"])
    assert at(found["formal_notice"]["due_at"]) == T0 + minutes(60) + minutes(240)
    assert found["formal_notice"]["state"] == "pending"
    # emergency response was already activated in time: the added deadline is met at once
    assert found["emergency_response"]["state"] == "met" and at(found["emergency_response"]["met_at"]) == T0 + minutes(1)


def test_a_rolled_back_transition_leaves_no_deadline(operator_api, app_ctx):
    user, _ = factories.user(name="回滚测试")
    with freeze_time(T0):
        incident = factories.declare(user)
        incident_id = incident.id
    assert set(deadlines(operator_api, incident_id)) == {"report", "response", "recovery"}
    # a failing commit of a later transition rolls its deadline changes back with it
    with freeze_time(T0 + minutes(1)):
        incident = incidents.get_incident(incident_id)
        from app.scheduling import service

        service.fulfil(incident, "report", T0 + minutes(1))
        db.session.rollback()
    assert deadlines(operator_api, incident_id)["report"]["state"] == "pending"
