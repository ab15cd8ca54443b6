"""GET /status and /status.json: what the public sees, what it never sees, and the cache."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from app.policy import current_policy

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai

SUBSCRIBERS = [
    ("13800138001", "+8613800138001", "王小明"),
    ("13900139002", "+8613900139002", "李秀英"),
    ("13700137003", "+8613700137003", "欧阳娜娜"),
]
PRIVATE = {
    "description": "机房B主控板烧毁，疑似空调故障",
    "fault_type": "基站退服-内部分类",
    "scope_summary": "西湖区12个基站，含VIP政企专线",
    "responder": "张建国",
    "private_update": "联系厂商工程师赵德胜，备件在途",
    "summary": "更换主控板后恢复-内部纪要",
    "cause_party": "网络部二组",
    "cancel_reason": "监控误告警-内部",
}


@pytest.fixture
def clock():
    with freeze_time(NOW) as frozen:
        yield frozen


def declare(api, **overrides):
    body = {"title": "杭州西湖区移动数据中断（机房B）", "description": PRIVATE["description"],
            "services": ["mobile_data"], "regions": ["杭州"], "detected_at": "2026-11-23T09:30:00+08:00", **overrides}
    response = api.post("/incidents", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def ok(response):
    assert response.status_code in (200, 201), response.json
    return response.json


def recover(api, incident_id):
    expected = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    ok(api.post(f"/incidents/{incident_id}/report", json={"fault_type": PRIVATE["fault_type"],
                                                          "scope_summary": PRIVATE["scope_summary"],
                                                          "estimated_recovery_at": expected}))
    ok(api.post(f"/incidents/{incident_id}/respond", json={"responder": PRIVATE["responder"],
                                                           "emergency_response": False}))
    ok(api.post(f"/incidents/{incident_id}/recover", json={"summary": PRIVATE["summary"]}))


@pytest.fixture
def outages(clock, operator_api, manager_api):
    """An open outage with private details and a public update, one recovered within the window,
    one recovered long ago, one cancelled, and subscribers in the affected region."""
    for phone, _, name in SUBSCRIBERS:
        ok(operator_api.post("/subscribers", json={"phone": phone, "name": name, "region": "杭州",
                                                   "services": ["mobile_data", "broadband"], "monthly_fee": "58"}))
    clock.move_to(datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc))
    old = declare(operator_api, services=["broadband"], regions=["宁波"], detected_at="2026-11-21T09:00:00+08:00")
    recover(operator_api, old)
    clock.move_to(NOW - timedelta(hours=3))
    recent = declare(operator_api, services=["iptv"], regions=["温州"], detected_at="2026-11-23T06:00:00+08:00")
    ok(operator_api.post(f"/incidents/{recent}/updates", json={"message": "IPTV 已全部恢复", "public": True}))
    recover(operator_api, recent)
    cancelled = declare(operator_api, services=["sms"], regions=["绍兴"], detected_at="2026-11-23T07:00:00+08:00")
    ok(manager_api.post(f"/incidents/{cancelled}/cancel", json={"reason": PRIVATE["cancel_reason"]}))
    clock.move_to(NOW - timedelta(minutes=20))
    open_ = declare(operator_api, services=["mobile_data", "mobile_voice"], regions=["杭州", "湖州"])
    ok(operator_api.post(f"/incidents/{open_}/report", json={
        "fault_type": PRIVATE["fault_type"], "scope_summary": PRIVATE["scope_summary"],
        "estimated_recovery_at": "2026-11-23T12:00:00+08:00"}))
    ok(operator_api.post(f"/incidents/{open_}/respond", json={"responder": PRIVATE["responder"],
                                                              "emergency_response": True}))
    ok(operator_api.post(f"/incidents/{open_}/updates", json={"message": "抢修队已到达现场", "public": True}))
    ok(operator_api.post(f"/incidents/{open_}/updates", json={"message": PRIVATE["private_update"]}))
    ok(operator_api.put(f"/incidents/{open_}/responsibility", json=[
        {"category": "technical", "sub_cause": "equipment_failure", "party": PRIVATE["cause_party"], "share": 100}]))
    clock.move_to(NOW)
    return {"open": open_, "recent": recent, "old": old, "cancelled": cancelled}


def status_json(client):
    response = client.get("/status.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_open_and_recently_recovered_outages_in_public_words(client, outages):
    status = status_json(client)
    by_region = {region["region"]: region for region in status["regions"]}
    numbers = [outage["number"] for outage in status["outages"]]
    assert len(numbers) == 2 and status["open_count"] == 1
    recent, open_ = status["outages"]  # oldest detection first
    assert (recent["state"], recent["state_label"]) == ("recovered", "已恢复")
    assert recent["services"] == [{"code": "iptv", "name": "IPTV"}] and recent["regions"] == ["温州"]
    assert recent["last_update"]["message"] == "IPTV 已全部恢复"
    assert (open_["state"], open_["state_label"]) == ("repairing", "正在抢修")
    assert open_["expected_recovery_at"] == "2026-11-23T04:00:00+00:00"
    assert open_["last_update"] == {"message": "抢修队已到达现场", "at": "2026-11-23T01:40:00+00:00"}
    assert "affected_subscribers" not in open_  # the policy keeps counts private by default
    assert set(by_region) == {"杭州", "湖州", "温州"}  # 宁波 left the 24 h window; 绍兴 was cancelled
    assert [s["name"] for s in by_region["杭州"]["services"]] == sorted(["移动数据", "移动语音"])
    assert by_region["杭州"]["services"][0]["outages"] == [open_["number"]]

    page = client.get("/status").get_data(as_text=True)
    assert "正在抢修" in page and "抢修队已到达现场" in page and "11月23日 12:00" in page  # expected recovery, Shanghai
    assert "已恢复" in page and "温州" in page and "宁波" not in page and "绍兴" not in page


def test_no_personal_data_and_no_incident_internals(client, outages):
    html = client.get("/status").get_data(as_text=True)
    body = client.get("/status.json").get_data(as_text=True)
    for text in (html, body):
        for national, e164, name in SUBSCRIBERS:
            assert national not in text and e164 not in text and national[-8:] not in text and name not in text
        for field, value in PRIVATE.items():
            assert value not in text, field
        assert "机房B" not in text  # nor the operator's title
    data = json.loads(body)
    assert not {"description", "responder", "fault_type", "scope_summary", "title", "level"} & set(data["outages"][1])


def test_affected_counts_only_when_the_policy_allows(client, outages, app_ctx, monkeypatch):
    policy = current_policy()
    allowing = dataclasses.replace(policy, version=policy.version + "-counts",
                                   data={**policy.data, "public_status": {**policy.public_status,
                                                                           "show_affected_counts": True}})
    monkeypatch.setitem(app_ctx.extensions, "noc_policy", allowing)
    open_ = status_json(client)["outages"][1]
    assert open_["affected_subscribers"] == 3
    assert "约 3 户" in client.get("/status").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/status", "/status.json"])
def test_cached_with_etag_and_answers_304(client, outages, path):
    first = client.get(path)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=15"
    assert "Set-Cookie" not in first.headers
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_rerendered_after_a_change_once_the_version_is_read_again(client, outages, operator_api, clock):
    etag = client.get("/status.json").headers["ETag"]
    ok(operator_api.post(f"/incidents/{outages['open']}/updates", json={"message": "预计一小时内恢复", "public": True}))
    # Within version_check_seconds the process still serves what it rendered: bounded staleness.
    assert client.get("/status.json", headers={"If-None-Match": etag}).status_code == 304
    clock.tick(2)
    fresh = client.get("/status.json", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert fresh.get_json()["outages"][1]["last_update"]["message"] == "预计一小时内恢复"
    assert "预计一小时内恢复" in client.get("/status").get_data(as_text=True)


def test_a_recovered_outage_leaves_the_page_when_its_window_ends(client, outages, clock):
    assert len(status_json(client)["outages"]) == 2
    clock.tick(timedelta(hours=22))  # recovered at 07:00 Shanghai; its 24 h window ends at 07:00 the next day
    assert [o["state"] for o in status_json(client)["outages"]] == ["repairing"]


def test_no_login_and_the_security_headers(client, outages):
    page = client.get("/status")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    html = page.get_data(as_text=True)
    assert "<script" not in html and "style=" not in html
    css = client.get("/status/static/status.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_an_empty_status_says_all_is_well(client, clock):
    assert status_json(client)["outages"] == []
    assert "各项业务运行正常" in client.get("/status").get_data(as_text=True)


def test_an_update_is_private_unless_marked_public(clock, operator_api):
    incident_id = declare(operator_api)
    path = f"/incidents/{incident_id}/updates"
    private = ok(operator_api.post(path, json={"message": "内部进展"}))
    public = ok(operator_api.post(path, json={"message": "抢修中", "public": True}))
    events = {event["id"]: event for event in ok(operator_api.get(f"/incidents/{incident_id}/timeline"))}
    assert events[private["id"]]["after"]["public"] is False and events[public["id"]]["after"]["public"] is True
    refused = operator_api.post(path, json={"message": "x", "public": "maybe"})
    assert refused.status_code == 422 and "public" in refused.json["message"]
