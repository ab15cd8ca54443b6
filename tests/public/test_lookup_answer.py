"""The verified answer of "is my line affected?" (only the subscriber's own data), the lookup
counts (report feed and GET /api/v1/status-lookups), and the sender's lookup-code lane."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.auth.models import Role
from app.extensions import db
from app.incidents import service as incidents
from app.notify.models import Notice
from app.policy import current_policy
from app.public.models import StatusLookupCode, StatusLookupIncidentDay
from app.reports import providers
from tests import factories
from tests.public.test_lookup import CODE_IN_SMS, NEIGHBOUR, SUBSCRIBER, ask, ok, sent_code, verify

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def code_for(client, gateway, sender, phone=SUBSCRIBER) -> str:
    assert ask(client, phone).status_code == 202
    while sender.run_once():      # notices first, then the code
        pass
    return sent_code(gateway, phone)


@pytest.fixture
def outage(app_ctx, operator_api):
    """Subscribers in 杭州; an open outage of mobile data and voice in 杭州 with a public update
    and an expected recovery; an outage in 宁波 that touches neither."""
    with freeze_time(NOW - timedelta(minutes=30)):
        factories.subscriber(SUBSCRIBER, services=["mobile_data", "broadband"], name="王小明")
        factories.subscriber(NEIGHBOUR, services=["mobile_data", "mobile_voice"], name="李秀英")
        other = factories.declared(operator_api, services=["mobile_data"], regions=["宁波"])
        incident = factories.declared(operator_api, services=["mobile_data", "mobile_voice"], regions=["杭州"])
        path = f"/incidents/{incident['id']}"
        ok(operator_api.post(path + "/report", json={"fault_type": "内部分类", "scope_summary": "内部范围",
                                                     "estimated_recovery_at": "2026-11-23T14:00:00+08:00"}))
        ok(operator_api.post(path + "/updates", json={"message": "抢修队伍已到达现场", "public": True}))
        ok(operator_api.post(path + "/updates", json={"message": "内部：厂商备件在途"}))
    return incident, other


@freeze_time(NOW)
def test_the_answer_names_only_the_subscribers_own_affected_services(client, outage, gateway, sender):
    incident, other = outage
    answer = ok(verify(client, SUBSCRIBER, code_for(client, gateway, sender)))
    assert answer["subscriber"] is True and answer["affected"] is True
    assert [o["number"] for o in answer["outages"]] == [incident["number"]]      # not the 宁波 one
    outage = answer["outages"][0]
    assert outage["services"] == [{"code": "mobile_data", "name": outage["services"][0]["name"]}]  # not voice
    assert outage["state"] == "repairing" and outage["state_label"] == "正在抢修"
    assert datetime.fromisoformat(outage["expected_recovery_at"]) == datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    assert outage["last_update"]["message"] == "抢修队伍已到达现场"
    assert answer["compensation"] == []
    text = json.dumps(answer, ensure_ascii=False)
    for private in (NEIGHBOUR, "李秀英", "王小明", "内部", SUBSCRIBER):
        assert private not in text


@freeze_time(NOW)
def test_an_unaffected_subscriber_is_told_so(client, outage, gateway, sender):
    factories.subscriber("+8613800138003", region="温州", services=["mobile_data"])
    answer = ok(verify(client, "+8613800138003", code_for(client, gateway, sender, "+8613800138003")))
    assert answer == {**answer, "subscriber": True, "affected": False, "outages": [], "compensation": []}


def test_compensation_from_the_closed_incidents_ledger(client, operator_api, manager_api, make_user, gateway, sender):
    with freeze_time(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)):
        factories.subscriber(SUBSCRIBER, fee_fen=5800, services=["mobile_data"])
        incident = factories.declared(operator_api, services=["mobile_data"], detected_at="2026-11-23T08:00:00+08:00")
        path = f"/incidents/{incident['id']}"
        ok(operator_api.post(path + "/report", json={"fault_type": "传输中断", "scope_summary": "杭州",
                                                     "estimated_recovery_at": "2026-11-23T20:00:00+08:00"}))
        ok(operator_api.post(path + "/respond", json={"responder": "张伟"}))
        ok(operator_api.put(path + "/responsibility", json=[
            {"category": "technical", "sub_cause": "transmission_interruption", "party": "传输部", "share": 100}]))
        ok(operator_api.post(path + "/recover", json={"summary": "已恢复", "recovered_at": "2026-11-23T17:05:00+08:00"}))
        reviewer, _ = make_user(Role.reviewer)
        incidents.mark_analysis_report_submitted(incidents.get_incident(incident["id"]), reviewer,
                                                 datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
        db.session.commit()
        ok(manager_api.post(path + "/close"))
        ledger = ok(operator_api.get(path + "/compensation"))
    row = next(r for r in ledger["items"] if r["phone"] == SUBSCRIBER)
    with freeze_time(datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)):   # a day later: off the status page
        answer = ok(verify(client, SUBSCRIBER, code_for(client, gateway, sender)))
    assert answer["outages"] == []
    assert [(c["incident_number"], c["economic_credit"], c["data_credit_gb"]) for c in answer["compensation"]] == [
        (incident["number"], row["economic_credit"], row["data_credit_gb"])]
    assert row["economic_credit"] != "0.00" and row["data_credit_gb"] == 3   # a real credit, as the ledger holds it
    with freeze_time(datetime(2027, 3, 1, tzinfo=timezone.utc)):           # past compensation_days
        assert ok(verify(client, SUBSCRIBER, code_for(client, gateway, sender)))["compensation"] == []


@freeze_time(NOW)
def test_every_lookup_is_counted_for_the_report(client, outage, gateway, sender, api_as, operator_api):
    incident, other = outage
    ok(verify(client, SUBSCRIBER, code_for(client, gateway, sender)))
    ask(client, "+8613900139009")                       # a stranger asks; never verifies
    counts = {row.incident_id: (row.requested, row.verified, row.affected)
              for row in db.session.scalars(select(StatusLookupIncidentDay))}
    assert counts == {incident["id"]: (2, 1, 1), other["id"]: (2, 1, 0)}
    feed = providers.status_lookups(incidents.get_incident(incident["id"]))
    assert (feed["requested"], feed["verified"], feed["affected"]) == (2, 1, 1)
    assert feed["by_day"] == [{"day": "2026-11-23", "requested": 2, "verified": 1, "affected": 1}]

    path = f"/incidents/{incident['id']}"
    ok(operator_api.post(path + "/respond", json={"responder": "张伟", "emergency_response": True}))
    ok(operator_api.post(path + "/recover", json={"summary": "已恢复"}))
    reviewer = api_as(Role.reviewer)
    report = ok(reviewer.get(f"/incidents/{incident['id']}/analysis-report"))
    notices = next(s for s in report["sections"] if s["key"] == "notices")
    assert notices["data"]["status_lookups"]["requested"] == 2

    stats = ok(reviewer.get("/status-lookups"))
    assert stats["totals"] == {"requested": 2, "verified": 1, "rate_limited": 0}
    assert stats["incidents"] == [
        {"incident_id": incident["id"], "incident_number": incident["number"], "requested": 2, "verified": 1,
         "affected": 1},
        {"incident_id": other["id"], "incident_number": other["number"], "requested": 2, "verified": 1,
         "affected": 0}]
    assert reviewer.get("/status-lookups?since=2026-11-24&until=2026-11-01").status_code == 422
    assert client.get("/api/v1/status-lookups").status_code == 401


@freeze_time(NOW)
def test_lookup_codes_never_go_ahead_of_notices_and_are_not_starved(client, app_ctx, operator_api, gateway,
                                                                       sender, monkeypatch):
    monkeypatch.setitem(current_policy().status_lookup, "sender_lane_every", 2)
    factories.subscribers(factories.phones(120, start=500))
    factories.subscriber(SUBSCRIBER, services=["mobile_data"])
    incident = factories.declared(operator_api)
    ok(operator_api.post(f"/incidents/{incident['id']}/report", json={
        "fault_type": "传输中断", "scope_summary": "杭州", "estimated_recovery_at": "2026-11-23T14:00:00+08:00"}))
    queued = db.session.scalar(select(func.count()).select_from(Notice).where(Notice.status == "queued"))
    assert queued == 121
    ask(client, SUBSCRIBER)

    def code_status():
        db.session.expire_all()
        return db.session.scalar(select(StatusLookupCode.status).where(StatusLookupCode.phone == SUBSCRIBER))

    sender.run_once()                                           # cycle 1: notices only
    assert code_status() == "queued"
    assert not any(CODE_IN_SMS.search(m["body"]) for m in gateway.gateway.messages.values())
    sender.run_once()                                           # cycle 2: notices, then the lane
    assert code_status() == "accepted"
    still_queued = db.session.scalar(select(func.count()).select_from(Notice).where(Notice.status == "queued"))
    assert still_queued > 0                                     # the code did not wait for the whole fan-out
    assert sent_code(gateway, SUBSCRIBER)
