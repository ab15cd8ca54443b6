"""Drills (演练): marked on every message, told only to the test list, and counted in no figure."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.auth.models import Role
from app.compensation import engine as compensation
from app.extensions import db
from app.notify.models import Notice
from app.policy import parse_policy
from app.public.views import status_cache
from app.scheduling.judge import judge_due
from app.staff.models import StaffAlert
from tests import factories
from tests.complaints.helpers import register, subscriber
from tests.notify.helpers import drain
from tests.ops.test_metrics import scrape, value

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)   # 09:00 in Shanghai
TEST_PHONE = "+8613800009999"


@pytest.fixture(autouse=True)
def fresh_status_cache(app_ctx):
    status_cache().clear()
    yield
    status_cache().clear()


@pytest.fixture
def drills_policy(app_ctx):
    original = app_ctx.extensions["noc_policy"]

    def _set(phones: list[str]):
        app_ctx.extensions["noc_policy"] = parse_policy({**original.data, "drills": {"notice_phones": phones}})
    yield _set
    app_ctx.extensions["noc_policy"] = original


def _report(api, incident_id: int):
    response = api.post(f"/incidents/{incident_id}/report", json={
        "fault_type": "基站退服", "scope_summary": "杭州", "estimated_recovery_at": (datetime.now(timezone.utc) + timedelta(hours=4)).isoformat()})
    assert response.status_code == 200, response.json
    factories.dispatch_acknowledges(incident_id)   # the receiver's acknowledgement meets the deadline (RULES §9)


def test_the_drill_flag_is_set_at_declaration_shown_and_filterable(operator_api):
    real = factories.declared(operator_api)
    drill = factories.declared(operator_api, drill=True, title="【演练】杭州核心网中断演练")
    assert (real["drill"], drill["drill"]) == (False, True)
    assert operator_api.get(f"/incidents/{drill['id']}").json["drill"] is True
    assert [i["id"] for i in operator_api.get("/incidents?drill=true").json["items"]] == [drill["id"]]
    assert [i["id"] for i in operator_api.get("/incidents?drill=false").json["items"]] == [real["id"]]
    timeline = operator_api.get(f"/incidents/{drill['id']}/timeline").json
    assert timeline[0]["message"].startswith("登记演练") and timeline[0]["after"]["drill"] is True


def test_a_drill_is_absent_from_the_public_status_page(operator_api, client):
    real = factories.declared(operator_api, regions=["宁波"])
    drill = factories.declared(operator_api, drill=True, regions=["温州"])
    status = client.get("/status.json").json
    assert [o["number"] for o in status["outages"]] == [real["number"]]
    assert status["open_count"] == 1 and "温州" not in {r["region"] for r in status["regions"]}
    page = client.get("/status").get_data(as_text=True)
    assert real["number"] in page and drill["number"] not in page and "温州" not in page


def test_a_drill_counts_in_no_summary_figure(operator_api, api_as):
    with freeze_time(T0):
        real = factories.declared(operator_api, detected_at=T0 - timedelta(minutes=5))
        drill = factories.declared(operator_api, drill=True, detected_at=T0 - timedelta(minutes=5), level=1)
        _report(operator_api, real["id"])
    with freeze_time(T0 + timedelta(hours=1)):
        _report(operator_api, drill["id"])   # 上报 late: a breach, but a drill's
        judge_due()
        period = f"from={(T0 - timedelta(days=1)).isoformat()}&to={(T0 + timedelta(days=1)).isoformat()}"
        figures = api_as(Role.reviewer).get(f"/reports/summary?{period}".replace("+", "%2B")).json
    assert (figures["incidents"], figures["drills"], figures["major"]) == (1, 1, 0)
    report_row = next(r for r in figures["compliance"] if r["kind"] == "report")
    assert (report_row["met"], report_row["breached"]) == (1, 0)
    assert [g["count"] for g in figures["by_grade"]] == [0, 0, 1]


def test_a_drill_is_in_no_deadline_metric(operator_api, client):
    factories.declared(operator_api)
    factories.declared(operator_api, drill=True)
    samples = scrape(client)
    assert value(samples, "noc_deadlines", kind="report", state="pending") == 1
    assert value(samples, "noc_deadlines", kind="response", state="pending") == 1


def test_a_real_complaint_never_links_to_a_drill(operator_api, api_as):
    agent = api_as(Role.agent)
    subscriber(region="杭州")
    factories.declared(operator_api, drill=True)
    complaint = register(agent, category="service_quality", content="手机上网时断时续")
    assert complaint["incident_id"] is None


def test_drill_notices_go_only_to_the_test_list_and_say_drill(operator_api, drills_policy, gateway, sender):
    factories.subscribers(factories.phones(3))                    # real subscribers in scope
    factories.subscribers([TEST_PHONE])                           # the drill's test handset, in scope too
    drills_policy([TEST_PHONE])
    drill = factories.declared(operator_api, drill=True)
    _report(operator_api, drill["id"])                            # the policy queues the 故障通知 on 上报
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 1
    drain(sender)
    (message,) = gateway.gateway.messages.values()
    assert message["to"] == TEST_PHONE and message["body"].startswith("【演练】【故障通知】")
    assert drill["number"] in message["body"]

    real = factories.declared(operator_api)
    _report(operator_api, real["id"])
    drain(sender)
    real_bodies = [m["body"] for m in gateway.gateway.messages.values() if real["number"] in m["body"]]
    assert len(real_bodies) == 4 and not any("演练" in b for b in real_bodies)


def test_without_a_test_list_a_drill_notifies_and_credits_no_subscriber(operator_api, make_user):
    factories.subscribers(factories.phones(3))
    drill = factories.declared(operator_api, drill=True)
    _report(operator_api, drill["id"])
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
    incident = db.session.get(compensation.Incident, drill["id"])
    _, ledger = compensation.preview(incident)
    assert db.session.execute(ledger).all() == []


def test_staff_alerts_of_a_drill_say_drill_at_the_gateway(operator_api, make_user, gateway, sender):
    make_user(Role.duty_manager, phone="+8613900000001", on_call=True)
    with freeze_time(T0):
        drill = factories.declared(operator_api, drill=True, detected_at=T0)
        real = factories.declared(operator_api, detected_at=T0, regions=["宁波"])
    with freeze_time(T0 + timedelta(minutes=20)):                # both 上报 windows (15 min) breached
        judge_due()
    alerts = db.session.scalars(select(StaffAlert).order_by(StaffAlert.id)).all()
    drill_alerts = [a for a in alerts if a.incident_id == drill["id"]]
    real_alerts = [a for a in alerts if a.incident_id == real["id"]]
    assert drill_alerts and real_alerts
    assert all(a.message.startswith("【演练】") for a in drill_alerts)
    assert not any("演练" in a.message for a in real_alerts)
    drain(sender)
    bodies = [m["body"] for m in gateway.gateway.messages.values()]
    assert sum(b.startswith("【演练】") for b in bodies) == len(drill_alerts)
    assert len(bodies) == len(alerts)


def test_a_drill_is_never_regulator_reportable_and_its_banner_says_drill(app_ctx, operator_api, make_user):
    from app.incidents import service as incidents

    original = app_ctx.extensions["noc_policy"]
    app_ctx.extensions["noc_policy"] = parse_policy({**original.data, "regulator": {
        "users_over": 1, "users_duration_minutes": 1, "user_minutes_over": 1, "user_minutes_min_duration_minutes": 1}})
    try:
        factories.subscribers(factories.phones(3))
        with freeze_time(T0):
            start = incidents.latest_event_id()
            real = factories.declared(operator_api, detected_at=T0 - timedelta(hours=2), level=1)
            drill = factories.declared(operator_api, detected_at=T0 - timedelta(hours=2), level=1, drill=True)
            assert operator_api.get(f"/incidents/{real['id']}").json["regulator_reportable"] is True
            assert operator_api.get(f"/incidents/{drill['id']}").json["regulator_reportable"] is False
            titles = {a["number"]: a["title"] for a in incidents.alarms_since(start)}
    finally:
        app_ctx.extensions["noc_policy"] = original
    assert titles[drill["number"]].startswith("【演练】") and not titles[real["number"]].startswith("【演练】")
