"""Staff alerts sent to me (GET /staff-alerts) and acknowledging one: who, when, once, on the timeline."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import TimelineEvent
from app.staff import service as staff
from app.staff.models import StaffAlert
from tests.conftest import ApiClient

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)

@pytest.fixture(autouse=True)
def clock():
    with freeze_time(NOW) as frozen:
        yield frozen

@pytest.fixture
def on_call(make_user):
    first, first_token = make_user(Role.duty_manager, on_call=True, phone="+8613900000001")
    second, second_token = make_user(Role.duty_manager, on_call=True, phone="+8613900000002")
    return (first, first_token), (second, second_token)

@pytest.fixture
def incident(make_user):
    operator, _ = make_user(Role.operator)
    return incidents.declare(operator, title="杭州宽带中断", services=["broadband"], regions=["杭州"])

def raise_alert(incident, key: str = "deadline:1:tier1", kind: str = "deadline_breach") -> None:
    staff.alert_on_call_duty_managers(incident, kind, f"{incident.number} 上报已超时", key)
    db.session.commit()

def test_each_person_lists_only_their_own_alerts(api_as, client, on_call, incident):
    (first, first_token), (second, _) = on_call
    raise_alert(incident)
    raise_alert(incident, "deadline:1:warning", "deadline_warning")

    body = ApiClient(client, first_token).get("/staff-alerts").get_json()
    assert body["total"] == 2
    assert {item["kind"] for item in body["items"]} == {"deadline_breach", "deadline_warning"}
    assert all(item["incident_number"] == incident.number and item["acknowledged_at"] is None for item in body["items"])
    mine = set(db.session.scalars(select(StaffAlert.id).where(StaffAlert.user_id == first.id)))
    assert {item["id"] for item in body["items"]} == mine

def test_acknowledge_records_who_and_when_once_with_a_timeline_event(client, on_call, incident):
    (first, first_token), _ = on_call
    raise_alert(incident)

    api = ApiClient(client, first_token)
    alert_id = api.get("/staff-alerts").get_json()["items"][0]["id"]
    answer = api.post(f"/staff-alerts/{alert_id}/acknowledge")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["acknowledged_by"] == first.id
    assert answer.get_json()["acknowledged_at"].startswith("2026-11-23T02:00:00")
    assert api.post(f"/staff-alerts/{alert_id}/acknowledge").status_code == 200  # idempotent
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "staff_alert_acknowledged")).all()
    assert len(events) == 1 and events[0].actor_id == first.id and events[0].after["alert_id"] == alert_id
    assert api.get("/staff-alerts?unacknowledged=true").get_json()["total"] == 0

def test_nobody_acknowledges_someone_elses_alert(client, on_call, incident, api_as):
    (first, _), (second, second_token) = on_call
    raise_alert(incident)

    first_alert = db.session.scalar(select(StaffAlert.id).where(StaffAlert.user_id == first.id))
    answer = ApiClient(client, second_token).post(f"/staff-alerts/{first_alert}/acknowledge")
    assert answer.status_code == 403
    assert db.session.get(StaffAlert, first_alert).acknowledged_at is None
    assert api_as(Role.integration).get("/staff-alerts").status_code == 403
    assert ApiClient(client, second_token).post("/staff-alerts/999999/acknowledge").status_code == 404
