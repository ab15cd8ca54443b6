"""The walk through the API of issue 2: declare → report → respond → update → regrade →
responsibility → recover, each step on the timeline; and the refusals on the way."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from tests import factories

NOW = datetime(2026, 11, 23, 0, 15, tzinfo=timezone.utc)  # 08:15 in Shanghai


def declare(api, **overrides):
    return factories.post_incident(api, **{"description": "多个基站退服", "detected_at": "2026-11-23T08:05:00+08:00",
                                           **overrides})


@freeze_time(NOW)
def test_full_walk_records_every_step_on_the_timeline(operator_api, manager_api):
    created = declare(operator_api)
    assert created.status_code == 201, created.json
    incident = created.json
    assert incident["number"] == "INC-20261123-0001"
    assert incident["status"] == "declared"
    assert incident["proposed_level"] == 3 and incident["level"] == 3
    assert incident["detected_at"] == "2026-11-23T00:05:00+00:00"
    path = f"/incidents/{incident['id']}"

    steps = [
        (operator_api.post, "/report", {"fault_type": "基站退服", "scope_summary": "杭州西湖区",
                                         "estimated_recovery_at": "2026-11-23T12:00:00+08:00"}, "reported"),
        (operator_api.post, "/respond", {"responder": "张伟", "emergency_response": False}, "responding"),
        (operator_api.post, "/updates", {"message": "已派出抢修队", "notify_subscribers": False}, None),
        (manager_api.post, "/regrade", {"level": 2, "reason": "影响范围扩大到两个区"}, None),
        (operator_api.put, "/responsibility", [
            {"category": "technical", "sub_cause": "equipment_failure", "party": "网络部", "share": 70},
            {"category": "external", "sub_cause": "power_outage", "party": "市电力公司", "share": 30},
        ], None),
        (operator_api.post, "/recover", {"summary": "更换主控板后恢复"}, "recovered"),
    ]
    for call, suffix, body, status in steps:
        response = call(path + suffix, json=body)
        assert response.status_code in (200, 201), (suffix, response.json)
        if status:
            assert response.json["status"] == status

    final = operator_api.get(path).json
    assert final["level"] == 2 and final["level_reason"] == "影响范围扩大到两个区"
    assert final["responder"] == "张伟"
    assert final["recovered_at"] == NOW.isoformat()
    assert [r["share"] for r in final["responsibility"]] == [70, 30]

    events = operator_api.get(path + "/timeline").json
    assert [e["kind"] for e in events] == [
        "declared", "reported", "responded", "progress_update", "regraded", "deadlines_recomputed",
        "responsibility_set", "recovered",
    ]
    regraded = events[4]
    assert regraded["before"]["level"] == 3 and regraded["after"]["level"] == 2
    assert all(e["actor"] and e["at"] for e in events)
    assert events[3]["message"] == "已派出抢修队"  # Chinese round-trips unchanged


@freeze_time(NOW)
def test_transition_not_allowed_answers_409_naming_the_state(operator_api):
    incident = declare(operator_api).json
    response = operator_api.post(f"/incidents/{incident['id']}/recover", json={"summary": "x"})
    assert response.status_code == 409
    assert response.json["state"] == "declared"
    assert "declared" in response.json["message"]
    # nothing changed
    assert operator_api.get(f"/incidents/{incident['id']}").json["status"] == "declared"
    assert len(operator_api.get(f"/incidents/{incident['id']}/timeline").json) == 1


@freeze_time(NOW)
def test_close_lists_what_is_missing(operator_api, manager_api):
    incident = declare(operator_api).json
    path = f"/incidents/{incident['id']}"
    operator_api.post(path + "/report", json={"fault_type": "a", "scope_summary": "b",
                                              "estimated_recovery_at": "2026-11-23T12:00:00+08:00"})
    operator_api.post(path + "/respond", json={"responder": "李娜"})
    operator_api.post(path + "/recover", json={"summary": "ok"})
    response = manager_api.post(path + "/close")
    assert response.status_code == 409
    assert response.json["missing"] == ["responsibility", "analysis_report"]
    assert response.json["state"] == "recovered"


@freeze_time(NOW)
def test_grade_is_proposed_from_scope_and_override_needs_a_reason(operator_api):
    key_service = declare(operator_api, services=["core_network"]).json
    assert key_service["proposed_level"] == 1 and key_service["major"] is True
    whole_network = declare(operator_api, regions=["全网"]).json
    assert whole_network["proposed_level"] == 1
    several = declare(operator_api, regions=["杭州", "宁波"]).json
    assert several["proposed_level"] == 2 and several["major"] is False

    refused = declare(operator_api, level=1)
    assert refused.status_code == 422
    assert "level_reason" in refused.json["errors"]["json"]
    kept = declare(operator_api, level=1, level_reason="涉及政企专线")
    assert kept.status_code == 201
    assert kept.json["level"] == 1 and kept.json["proposed_level"] == 3
    assert kept.json["level_reason"] == "涉及政企专线"


@freeze_time(NOW)
def test_marking_a_lower_grade_major_needs_a_reason(operator_api):
    refused = declare(operator_api, major=True)
    assert refused.status_code == 422 and "major_reason" in refused.json["errors"]["json"]
    accepted = declare(operator_api, major=True, major_reason="涉及重要客户")
    assert accepted.json["major"] is True and accepted.json["major_reason"] == "涉及重要客户"


@freeze_time(NOW)
def test_major_incident_must_activate_emergency_response(operator_api):
    incident = declare(operator_api, services=["mobile_voice"]).json
    path = f"/incidents/{incident['id']}"
    operator_api.post(path + "/report", json={"fault_type": "a", "scope_summary": "b",
                                              "estimated_recovery_at": "2026-11-23T12:00:00+08:00"})
    refused = operator_api.post(path + "/respond", json={"responder": "王强", "emergency_response": False})
    assert refused.status_code == 422 and "emergency_response" in refused.json["errors"]["json"]
    accepted = operator_api.post(path + "/respond", json={"responder": "王强", "emergency_response": True})
    assert accepted.json["emergency_response_at"] == NOW.isoformat()


@freeze_time(NOW)
def test_bad_times_are_refused_with_the_field_named(operator_api):
    future = declare(operator_api, detected_at=(NOW + timedelta(minutes=5)).isoformat())
    assert future.status_code == 422 and "detected_at" in future.json["errors"]["json"]
    naive = declare(operator_api, detected_at="2026-11-23T08:05:00")
    assert naive.status_code == 422 and "detected_at" in naive.json["errors"]["json"]
    before = declare(operator_api, estimated_recovery_at="2026-11-23T07:00:00+08:00")
    assert before.status_code == 422 and "estimated_recovery_at" in before.json["errors"]["json"]
    missing = operator_api.post("/incidents", json={"title": "x"})
    assert missing.status_code == 422
    assert {"services", "regions"} <= set(missing.json["errors"]["json"])
    assert operator_api.get("/incidents").json["total"] == 0


@freeze_time(NOW)
def test_cancel_before_recovery_only(operator_api, manager_api):
    incident = declare(operator_api).json
    path = f"/incidents/{incident['id']}"
    response = manager_api.post(path + "/cancel", json={"reason": "告警误报"})
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    again = manager_api.post(path + "/cancel", json={"reason": "x"})
    assert again.status_code == 409 and again.json["state"] == "cancelled"


@freeze_time(NOW)
def test_list_filters_and_paginates(operator_api):
    for _ in range(3):
        declare(operator_api)
    declare(operator_api, services=["core_network"])
    page = operator_api.get("/incidents?per_page=2&page=1").json
    assert page["total"] == 4 and len(page["items"]) == 2
    level1 = operator_api.get("/incidents?level=1").json
    assert level1["total"] == 1 and level1["items"][0]["services"] == ["core_network"]
    assert operator_api.get("/incidents?status=declared&major=false").json["total"] == 3
    assert operator_api.get("/incidents?status=bogus").status_code == 422


def test_unknown_incident_is_404(operator_api):
    response = operator_api.get("/incidents/999999")
    assert response.status_code == 404
    assert response.json["code"] == 404
