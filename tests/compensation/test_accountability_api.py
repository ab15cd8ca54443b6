"""责任通报 and 整改: the notice to the units concerned and rectification items tracked to done."""
from __future__ import annotations

from datetime import datetime, timezone

from freezegun import freeze_time

from tests import factories

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, 2026-11-23


def _incident(api):
    return factories.declared(api, title="杭州数据中断", detected_at="2026-11-23T08:00:00+08:00")


@freeze_time(NOW)
def test_responsibility_notice_names_every_unit_with_its_share(operator_api):
    incident = _incident(operator_api)
    path = f"/incidents/{incident['id']}"
    refused = operator_api.post(path + "/responsibility/notice", json={})
    assert refused.status_code == 409  # nothing determined yet

    operator_api.put(path + "/responsibility", json=[
        {"category": "technical", "sub_cause": "equipment_failure", "party": "网络部", "share": 50},
        {"category": "management", "sub_cause": "operator_error", "party": "网络部", "share": 20},
        {"category": "external", "sub_cause": "power_outage", "party": "市电力公司", "share": 30},
    ])
    response = operator_api.post(path + "/responsibility/notice", json={"message": "请于三日内提交说明"})
    assert response.status_code == 201, response.json
    assert response.json["kind"] == "responsibility_notice"
    assert response.json["after"]["units"] == [
        {"party": "网络部", "categories": ["technical", "management"], "share": 70},
        {"party": "市电力公司", "categories": ["external"], "share": 30},
    ]
    assert response.json["message"] == "责任通报：网络部（技术性原因、管理性原因 70%）；市电力公司（外部因素 30%）。请于三日内提交说明"
    assert operator_api.get(path + "/timeline").json[-1]["kind"] == "responsibility_notice"


@freeze_time(NOW)
def test_rectification_items_are_tracked_until_done(operator_api, api_as):
    incident = _incident(operator_api)
    path = f"/incidents/{incident['id']}/rectifications"
    created = operator_api.post(path, json={"title": "更换老化主控板", "owner": "网络部 李强", "due_date": "2026-11-30"})
    assert created.status_code == 201, created.json
    item = created.json
    assert (item["completed"], item["overdue"], item["owner"]) == (False, False, "网络部 李强")
    operator_api.post(path, json={"title": "补充值班培训", "owner": "运维部", "due_date": "2026-11-20"})

    listed = operator_api.get(path).json
    assert [(i["title"], i["overdue"]) for i in listed] == [("补充值班培训", True), ("更换老化主控板", False)]

    moved = operator_api.patch(f"{path}/{item['id']}", json={"due_date": "2026-12-05", "owner": "网络部 王芳"})
    assert moved.status_code == 200 and moved.json["due_date"] == "2026-12-05"
    assert operator_api.patch(f"{path}/{item['id']}", json={"completed": True}).status_code == 422  # needs a note
    done = operator_api.patch(f"{path}/{item['id']}", json={"completed": True, "completion_note": "已更换并验证"})
    assert done.status_code == 200 and done.json["completed"] is True and done.json["completed_at"] == NOW.isoformat()
    assert operator_api.patch(f"{path}/{item['id']}", json={"completed": True, "completion_note": "x"}).status_code == 409

    events = [e for e in operator_api.get(f"/incidents/{incident['id']}/timeline").json if e["kind"].startswith("rect")]
    assert [e["kind"] for e in events] == ["rectification_added", "rectification_added", "rectification_updated",
                                           "rectification_completed"]
    assert events[2]["before"]["owner"] == "网络部 李强" and events[2]["after"]["owner"] == "网络部 王芳"


@freeze_time(NOW)
def test_rectification_input_errors_name_the_field_and_change_nothing(operator_api, api_as):
    incident = _incident(operator_api)
    path = f"/incidents/{incident['id']}/rectifications"
    bad = operator_api.post(path, json={"title": "x", "owner": "y", "due_date": "not-a-date"})
    assert bad.status_code == 422 and "due_date" in bad.json["message"]
    missing = operator_api.post(path, json={"title": "x"})
    assert missing.status_code == 422 and "owner" in missing.json["message"]
    assert operator_api.get(path).json == []
    assert operator_api.patch(f"{path}/999", json={"owner": "z"}).status_code == 404
    item = operator_api.post(path, json={"title": "x", "owner": "y", "due_date": "2026-12-01"}).json
    nothing = operator_api.patch(f"{path}/{item['id']}", json={"owner": "y"})
    assert nothing.status_code == 422 and "body" in nothing.json["message"]
    assert api_as("reviewer").post(path, json={"title": "x", "owner": "y", "due_date": "2026-12-01"}).status_code == 403
    assert operator_api.get("/incidents/999/rectifications").status_code == 404
