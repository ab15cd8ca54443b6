"""GET /incidents/{id}/deadlines, deadlines in the incident, next deadline and `breached` in the list."""
from __future__ import annotations

from freezegun import freeze_time

from app.scheduling.judge import judge_due
from tests import factories
from tests.scheduling.walk import T0, minutes, report


def test_deadline_list_names_kind_due_state_and_time_left(operator_api):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, level=1, detected_at=T0)
        frozen.move_to(T0 + minutes(5))
        response = operator_api.get(f"/incidents/{incident['id']}/deadlines")
    assert response.status_code == 200
    rows = response.json
    assert [d["kind"] for d in rows] == ["report", "emergency_response", "response", "recovery"]
    first = rows[0]
    assert first["due_at"] == "2026-11-23T00:15:00+00:00" and first["state"] == "pending"
    assert first["met_at"] is None and first["breached_at"] is None
    assert first["seconds_left"] == 600 and first["seconds_late"] is None
    assert first["label"] == "上报服务调度中心"


def test_unknown_incident_is_404_and_anonymous_is_401(operator_api, client):
    assert operator_api.get("/incidents/999/deadlines").status_code == 404
    assert client.get("/api/v1/incidents/1/deadlines").status_code == 401


def test_incident_detail_carries_its_deadlines(operator_api):
    with freeze_time(T0):
        incident = factories.declared(operator_api, detected_at=T0)
    assert {d["kind"] for d in incident["deadlines"]} == {"report", "response", "recovery"}
    detail = operator_api.get(f"/incidents/{incident['id']}").json
    assert {d["kind"] for d in detail["deadlines"]} == {"report", "response", "recovery"}


def test_list_shows_each_open_incidents_next_deadline_and_filters_breached(operator_api, manager_api):
    with freeze_time(T0) as frozen:
        late = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(10))
        fresh = factories.declared(operator_api, detected_at=T0 + minutes(10))
        frozen.move_to(T0 + minutes(16))
        judge_due()
        report(operator_api, fresh["id"])
        listing = operator_api.get("/incidents").json["items"]
        breached = operator_api.get("/incidents?breached=true").json
        clean = operator_api.get("/incidents?breached=false").json
        bad = operator_api.get("/incidents?breached=perhaps")
    by_id = {item["id"]: item for item in listing}
    assert by_id[fresh["id"]]["next_deadline"] == {
        "kind": "response", "label": "响应", "due_at": (T0 + minutes(10 + 480)).isoformat(),
        "seconds_left": (480 - 6) * 60,
    }
    assert by_id[late["id"]]["next_deadline"]["kind"] == "response"  # the breached report is no longer "next"
    assert [i["id"] for i in breached["items"]] == [late["id"]] and breached["total"] == 1
    assert [i["id"] for i in clean["items"]] == [fresh["id"]]
    assert bad.status_code == 422 and "breached" in bad.json["errors"]["query"]


def test_healthz_reports_deadlines_nobody_judges(client, operator_api):
    with freeze_time(T0) as frozen:
        factories.declared(operator_api, detected_at=T0)
        healthy = client.get("/healthz")
        frozen.move_to(T0 + minutes(17))  # the report deadline is 2 min overdue and nobody judged it
        stale = client.get("/healthz")
        judge_due()
        recovered = client.get("/healthz")
    assert healthy.status_code == 200 and healthy.json["checks"]["scheduler"]["ok"] is True
    assert stale.status_code == 503 and stale.json["checks"]["scheduler"]["overdue_unjudged"] == 1
    assert recovered.status_code == 200
