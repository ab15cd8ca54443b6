"""Measures (考核): on-time per limit against the 95% target, satisfaction, repeats, per incident, CSV masked."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun import freeze_time

from app.scheduling.judge import judge_due
from tests.complaints.helpers import STRANGER_PHONE, act, register, subscriber
from tests.factories import declared as declare

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def test_summary_by_limit_category_grade_agent_and_month(api_as, operator_api):
    agent, manager = api_as("agent", name="王芳"), api_as("duty_manager", name="陈经理")
    subscriber()
    with freeze_time(NOW - timedelta(days=20)):
        register(agent, category="billing")   # before the period
    with freeze_time(NOW) as clock:
        incident = declare(operator_api)
        linked = register(agent, category="service_quality")
        late = register(agent, category="business", received_at=NOW - timedelta(hours=47))
        register(agent, phone=STRANGER_PHONE, category="billing", grade=2)
        repeat = register(manager, category="billing")
        act(agent, late["id"], "feedback", result="已办理", send_sms=False)        # on time (47 h of 48)
        act(agent, linked["id"], "feedback", result="已恢复", send_sms=False)
        act(agent, linked["id"], "follow-up", satisfaction=5)
        act(agent, late["id"], "follow-up", satisfaction=2)
        clock.move_to(NOW + timedelta(hours=73))
        judge_due()
        summary = agent.get("/complaints/summary", query_string={
            "from": (NOW - timedelta(days=3)).isoformat(), "to": (NOW + timedelta(days=1)).isoformat()}).json
    assert summary["complaints"] == 4 and summary["on_time_target_percent"] == 95
    assert repeat["repeat"] is True and summary["repeat_rate"] == 25.0
    assert summary["satisfaction"] == {"replies": 2, "mean": 3.5}
    assert summary["linked_to_incidents"] == 1 and summary["complaints_per_incident"] == 1.0
    assert linked["incident_id"] == incident["id"]
    feedback = next(row for row in summary["limits"] if row["kind"] == "feedback")
    # Two fed back in time; the two billing complaints passed 72 h unanswered.
    assert (feedback["met"], feedback["breached"], feedback["on_time_rate"], feedback["meets_target"]) == (2, 2, 50.0, False)
    register_limit = next(row for row in summary["limits"] if row["kind"] == "register")
    # The business complaint was registered 47 h after it was received: 24 h allowed.
    assert (register_limit["met"], register_limit["breached"], register_limit["on_time_rate"]) == (3, 1, 75.0)
    assert {row["key"]: row["complaints"] for row in summary["by_category"]} == \
        {"billing": 2, "business": 1, "service_quality": 1}
    assert {row["key"]: row["complaints"] for row in summary["by_grade"]} == {"1": 3, "2": 1}
    assert {row["key"]: row["complaints"] for row in summary["by_agent"]} == {"王芳": 3, "陈经理": 1}
    assert [row["key"] for row in summary["by_month"]] == ["2026-11"]


def test_csv_masks_phones(api_as):
    agent = api_as("agent")
    with freeze_time(NOW):
        complaint = register(agent, phone=STRANGER_PHONE)
        response = agent.get("/complaints/export.csv")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and complaint["number"] in text
    assert "+86137****7000" in text and STRANGER_PHONE not in text
    assert "2026-11-23 10:00" in text


def test_summary_period_must_be_ordered(api_as):
    response = api_as("agent").get("/complaints/summary", query_string={
        "from": "2026-11-23T10:00:00+08:00", "to": "2026-11-22T10:00:00+08:00"})
    assert response.status_code == 422 and "from" in response.json["message"]
