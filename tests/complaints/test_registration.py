"""Registration (受理与登记): numbering, repeat, owner, reassignment, bad input, records never deleted."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from sqlalchemy import func, select

from app.complaints.models import Complaint, ComplaintEvent
from app.extensions import db
from app.notify.models import Notice
from tests.complaints.helpers import STRANGER_PHONE, SUBSCRIBER_PHONE, act, at, deadlines, register, subscriber

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Mon 10:00 in Shanghai


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_registration_numbers_by_day_and_starts_the_limits(api_as):
    agent = api_as("agent")
    subscriber()
    with freeze_time(NOW):
        first = register(agent, received_at=NOW - timedelta(hours=3))
        second = register(agent, phone="138 0013 8001", category="business")
    assert first["number"] == "TS-20261123-0001" and second["number"] == "TS-20261123-0002"
    assert first["subscriber_id"] is not None and first["status"] == "registered" and first["repeat"] is False
    assert second["phone"] == "+8613800138001" and second["subscriber_id"] is None  # not a subscriber: accepted
    limits = deadlines(agent, first["id"])
    assert set(limits) == {"register", "acknowledge", "feedback", "written_feedback"}
    assert limits["register"]["state"] == "met" and limits["acknowledge"]["state"] == "met"
    assert at(limits["feedback"]["due_at"]) == NOW - timedelta(hours=3) + timedelta(hours=72)


def test_registration_late_against_received_at_is_breached_once(api_as, make_user):
    manager, _ = make_user("duty_manager", on_call=True, phone="+8613800138000")
    agent = api_as("agent")
    with freeze_time(NOW):
        complaint = register(agent, received_at=NOW - timedelta(hours=30))
    limits = deadlines(agent, complaint["id"])
    assert limits["register"]["state"] == "breached" and limits["register"]["seconds_late"] == 6 * 3600
    events = [e["kind"] for e in agent.get(f"/complaints/{complaint['id']}/timeline").json]
    assert events.count("deadline_breached") == 2  # register and acknowledge, each once
    assert events.count("deadline_met_late") == 2


def test_repeat_is_same_phone_and_category_within_30_days(api_as):
    agent = api_as("agent")
    with freeze_time(NOW):
        register(agent, received_at=NOW - timedelta(days=31))
        assert register(agent, received_at=NOW - timedelta(days=20), category="other")["repeat"] is False
        assert register(agent)["repeat"] is False  # the billing one was 31 days ago
        assert register(agent, category="other")["repeat"] is True
        assert register(agent, phone=STRANGER_PHONE, category="other")["repeat"] is False


@pytest.mark.parametrize("field, value", [
    ("category", "network"), ("grade", 5), ("grade", 0), ("channel", "fax"), ("phone", "12345"),
    ("phone", "not a phone"), ("received_at", "2026-11-23T11:00:00+08:00"),
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(api_as, field, value):
    agent = api_as("agent")
    with freeze_time(NOW):
        response = agent.post("/complaints", json={"phone": SUBSCRIBER_PHONE, "name": "李娜", "channel": "phone",
                                                   "category": "billing", "grade": 1, "content": "投诉", field: value})
    assert response.status_code == 422, response.json
    assert field in str(response.json["errors"]) and field in response.json["message"]
    assert count(Complaint) == 0 and count(ComplaintEvent) == 0 and count(Notice) == 0


def test_only_agents_and_duty_managers_register(api_as):
    response = api_as("operator").post("/complaints", json={"phone": SUBSCRIBER_PHONE, "name": "x", "channel": "phone",
                                                            "category": "billing", "grade": 1, "content": "x"})
    assert response.status_code == 403


def test_the_registering_agent_owns_it_until_reassigned_on_the_record(api_as, make_user):
    first_agent = api_as("agent", name="王芳")
    make_user("agent", name="赵磊")
    with freeze_time(NOW):
        complaint = register(first_agent)
        assert act(first_agent, complaint["id"], "assign", 422, agent="无此人", reason="x")["errors"]["json"]["agent"]
        moved = act(first_agent, complaint["id"], "assign", agent="赵磊", reason="转账务专席")
    assert moved["owner_id"] != complaint["owner_id"]
    event = first_agent.get(f"/complaints/{complaint['id']}/timeline").json[-1]
    assert event["kind"] == "assigned" and event["actor"] == "王芳"
    assert event["after"]["owner"] == "赵磊" and event["after"]["reason"] == "转账务专席"
    assert event["before"]["owner_id"] == complaint["owner_id"]
    assert [c["number"] for c in first_agent.get("/complaints?agent=赵磊").json["items"]] == [complaint["number"]]
    assert first_agent.get("/complaints?agent=王芳").json["total"] == 0


def test_grade_two_is_handled_by_a_duty_manager(api_as):
    agent, manager = api_as("agent"), api_as("duty_manager")
    with freeze_time(NOW):
        complaint = register(agent, grade=2)
        refused = act(agent, complaint["id"], "feedback", 403, result="已处理")
        assert refused["grade"] == 2
        assert act(manager, complaint["id"], "feedback", result="已退款 20 元")["status"] == "fed_back"


def test_the_database_refuses_to_delete_a_complaint_or_change_its_history(api_as):
    agent = api_as("agent")
    complaint = register(agent)
    for statement, match in (
        (Complaint.__table__.delete().where(Complaint.__table__.c.id == complaint["id"]), "never deleted"),
        (ComplaintEvent.__table__.delete(), "append-only"),
        (ComplaintEvent.__table__.update().values(message="改写"), "append-only"),
    ):
        with pytest.raises(sa.exc.DatabaseError, match=match):
            db.session.execute(statement)
            db.session.flush()
        db.session.rollback()
    assert agent.get(f"/complaints/{complaint['id']}").status_code == 200
    assert agent.get(f"/complaints/{complaint['id']}/timeline").json[0]["kind"] == "registered"


def test_unknown_complaint_is_404(api_as):
    agent = api_as("agent")
    assert agent.get("/complaints/999").status_code == 404
    assert agent.post("/complaints/99999999999/feedback", json={"result": "x"}).status_code == 404
