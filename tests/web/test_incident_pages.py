"""Declaring and driving an incident through the console, as an operator and a duty manager would."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.extensions import db
from app.incidents.models import Incident, TimelineEvent
from tests import factories

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)  # 08:30 in Shanghai

# The declare form as an operator fills it in: the factories' incident, times as wall clock.
DECLARE_FORM = {
    **factories.console_form(factories.incident_fields()),
    "description": "多个基站退服",
    "detected_at": "2026-11-23T08:05",  # Asia/Shanghai wall clock
    "estimated_recovery_at": "2026-11-23T12:00",
}


@pytest.fixture(autouse=True)
def clock():
    """Frozen before anyone logs in: a session signed 'in the future' would be refused."""
    with freeze_time(NOW) as frozen:
        yield frozen


def declare(browser, **overrides):
    return browser.post("/incidents/new", {**DECLARE_FORM, **overrides}, token_from="/incidents/new")


def incident_count() -> int:
    return db.session.scalar(select(func.count(Incident.id)))


def fresh(incident_id: int) -> Incident:
    db.session.expire_all()
    return db.session.get(Incident, incident_id)


def timeline_kinds(incident_id: int) -> list[str]:
    """The incident's own events; the scheduler's deadline_* events are the deadline tests' business."""
    return list(db.session.scalars(select(TimelineEvent.kind).where(TimelineEvent.incident_id == incident_id,
                                                                    TimelineEvent.kind.not_like("deadline%"))
                                   .order_by(TimelineEvent.id)))


def declared_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/incidents/(\d+)$", response.headers["Location"]).group(1))


def test_declare_form_converts_local_time_to_utc(operator):
    incident_id = declared_id(declare(operator))
    incident = fresh(incident_id)
    assert incident.detected_at == datetime(2026, 11, 23, 0, 5, tzinfo=timezone.utc)
    assert incident.estimated_recovery_at == datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
    assert incident.services == ["mobile_data"] and incident.regions == ["杭州"]
    assert incident.level == incident.proposed_level == 3
    page = operator.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "INC-20261123-0001" in page and "已登记" in page
    assert "2026-11-23 08:05" in page  # shown back in Shanghai time
    assert "已持续 25分" in page


def test_declare_splits_chinese_separators_and_shows_the_proposed_grade(operator):
    page = operator.post("/incidents/new", {**DECLARE_FORM, "services": "mobile_data，broadband", "regions": "杭州、宁波",
                                            "preview": "1"}, token_from="/incidents/new")
    assert page.status_code == 200
    assert "二级故障" in page.get_data(as_text=True)
    assert incident_count() == 0  # a preview declares nothing
    incident_id = declared_id(declare(operator, services="mobile_data，broadband", regions="杭州、宁波"))
    incident = fresh(incident_id)
    assert incident.services == ["mobile_data", "broadband"] and incident.regions == ["杭州", "宁波"]
    assert incident.level == 2


def test_grade_preview_answers_the_proposal_as_json(operator):
    answer = operator.get("/incidents/grade-preview?services=core_network&regions=杭州").get_json()
    assert answer["proposed_level"] == 1 and answer["affected_subscribers"] == 0


def test_a_level_override_without_reason_names_the_field_and_declares_nothing(operator):
    response = declare(operator, level="1")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "定级理由" in html and "须说明理由" in html
    assert 'value="杭州城区移动数据业务中断"' in html  # what was typed is kept
    assert incident_count() == 0
    incident_id = declared_id(declare(operator, level="1", level_reason="涉及 VIP 客户"))
    assert fresh(incident_id).level == 1 and fresh(incident_id).major


def test_declare_refuses_a_future_detection_time(operator):
    response = declare(operator, detected_at="2026-11-23T09:00")
    assert response.status_code == 422
    assert "故障发生时间" in response.get_data(as_text=True) and "不能晚于当前时间" in response.get_data(as_text=True)
    assert incident_count() == 0


def test_declare_form_requires_title_services_and_regions(operator):
    response = declare(operator, title="", services="", regions="")
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("必填") >= 3
    assert incident_count() == 0


def test_missing_csrf_token_is_400_and_changes_nothing(operator):
    assert declare(operator).status_code == 302  # control: the same form with its token
    assert incident_count() == 1
    incident_id = db.session.scalar(select(Incident.id))
    response = operator.post("/incidents/new", DECLARE_FORM, with_token=False)
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    response = operator.post(f"/incidents/{incident_id}/report",
                             {"report-fault_type": "基站退服", "report-scope_summary": "西湖区"}, with_token=False)
    assert response.status_code == 400
    forged = operator.post(f"/incidents/{incident_id}/report",
                           {"report-fault_type": "基站退服", "report-scope_summary": "西湖区", "csrf_token": "forged"},
                           with_token=False)
    assert forged.status_code == 400
    assert incident_count() == 1
    assert fresh(incident_id).status == "declared"
    assert timeline_kinds(incident_id) == ["declared"]


def test_the_bearer_api_needs_no_csrf_token(operator_api):
    response = operator_api.post("/incidents", json={"title": "t", "services": ["mobile_data"], "regions": ["杭州"]})
    assert response.status_code == 201


def test_each_action_button_drives_the_state_machine(operator, manager, clock):
    if True:
        incident_id = declared_id(declare(operator))
        path = f"/incidents/{incident_id}"

        def act(browser, action, form):
            response = browser.post(f"{path}/{action}", form, token_from=path)
            assert response.status_code == 302, response.get_data(as_text=True)
            return browser.get(path).get_data(as_text=True)

        page = act(operator, "report", {"report-fault_type": "基站退服", "report-scope_summary": "杭州西湖区",
                                        "report-estimated_recovery_at": "2026-11-23T12:30"})
        assert fresh(incident_id).status == "reported" and "已发起上报服务调度中心，待调度中心确认接收" in page
        # The panel 对外报送 shows the 上报 waiting for the dispatch centre, and links to the local receiver.
        outbound = page[page.index('id="outbound"'):]
        outbound = outbound[:outbound.index("</section>")]
        assert "服务调度中心" in outbound and "待发送" in outbound and "查看本地接收端" in outbound
        assert fresh(incident_id).estimated_recovery_at == datetime(2026, 11, 23, 4, 30, tzinfo=timezone.utc)

        page = act(operator, "respond", {"respond-responder": "张伟"})
        assert fresh(incident_id).status == "responding" and fresh(incident_id).responder == "张伟"

        page = act(operator, "updates", {"update-message": "已派出抢修队", "update-notify_subscribers": "y"})
        assert "进展已发布" in page and "已派出抢修队" in page

        page = act(manager, "regrade", {"regrade-level": "2", "regrade-reason": "影响范围扩大到两个区"})
        assert fresh(incident_id).level == 2 and "定级已调整为 2 级" in page

        page = act(operator, "responsibility", {
            "responsibility-entries-0-category": "technical", "responsibility-entries-0-sub_cause": "equipment_failure",
            "responsibility-entries-0-party": "网络部", "responsibility-entries-0-share": "70",
            "responsibility-entries-1-category": "external", "responsibility-entries-1-sub_cause": "power_outage",
            "responsibility-entries-1-share": "30",
        })
        entries = [(r.category, r.sub_cause, r.party, r.share) for r in fresh(incident_id).responsibilities]
        assert entries == [("technical", "equipment_failure", "网络部", 70), ("external", "power_outage", "外部单位", 30)]
        assert "网络设备故障" in page and "电力供应中断" in page

        clock.tick(3600)
        page = act(operator, "recover", {"recover-summary": "更换主控板后恢复", "recover-recovered_at": "2026-11-23T09:20"})
        incident = fresh(incident_id)
        assert incident.status == "recovered"
        assert incident.recovered_at == datetime(2026, 11, 23, 1, 20, tzinfo=timezone.utc)

        # Closing needs the submitted analysis report (a later issue): the console says what is missing.
        response = manager.post(f"{path}/close", {}, token_from=path)
        assert response.status_code == 302
        page = manager.get(path).get_data(as_text=True)
        assert "已提交的故障分析报告" in page and fresh(incident_id).status == "recovered"

        from app.incidents import service
        service.mark_analysis_report_submitted(fresh(incident_id), manager.user, NOW)
        db.session.commit()
        page = act(manager, "close", {})
        assert fresh(incident_id).status == "closed" and "故障已闭环" in page

    # The lifecycle steps in order; deadline and notice events of other domains interleave.
    lifecycle = {"declared", "reported", "responded", "progress_update", "regraded", "responsibility_set",
                 "recovered", "analysis_report_submitted", "closed"}
    assert [kind for kind in timeline_kinds(incident_id) if kind in lifecycle] == [
        "declared", "reported", "responded", "progress_update", "regraded", "responsibility_set", "recovered",
        "analysis_report_submitted", "closed",
    ]
    assert "compensation_finalised" in timeline_kinds(incident_id)
    assert "定级调整" in page and "分析报告提交" in page  # the timeline's labels, as the report spells them
    assert operator.user.name in page and manager.user.name in page  # actors on the timeline


def test_cancel_by_a_duty_manager(operator, manager):
    incident_id = declared_id(declare(operator))
    path = f"/incidents/{incident_id}"
    response = manager.post(f"{path}/cancel", {"cancel-reason": "监控误告警"}, token_from=path)
    assert response.status_code == 302
    assert fresh(incident_id).status == "cancelled" and fresh(incident_id).cancel_reason == "监控误告警"
    page = manager.get(path).get_data(as_text=True)
    assert "误报撤销" in page and "没有可执行的操作" in page


def test_a_not_allowed_action_shows_the_state_and_changes_nothing(operator):
    incident_id = declared_id(declare(operator))
    path = f"/incidents/{incident_id}"
    assert 'action="/incidents/%d/recover"' % incident_id not in operator.get(path).get_data(as_text=True)
    response = operator.post(f"{path}/recover", {"recover-summary": "已恢复"}, token_from=path, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "当前状态「登记」(declared) 不允许执行「确认恢复」" in html
    assert fresh(incident_id).status == "declared"
    assert timeline_kinds(incident_id) == ["declared"]


def test_an_invalid_input_names_the_field_keeps_the_form_and_changes_nothing(operator):
    incident_id = declared_id(declare(operator))
    path = f"/incidents/{incident_id}"
    operator.post(f"{path}/report", {"report-fault_type": "基站退服", "report-scope_summary": "西湖区"}, token_from=path)
    response = operator.post(f"{path}/responsibility", {
        "responsibility-entries-0-category": "technical", "responsibility-entries-0-sub_cause": "equipment_failure",
        "responsibility-entries-0-share": "60",
    }, token_from=path)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "责任比例合计为 60%，应为 100%" in html
    assert 'id="action-responsibility" open' in html
    assert fresh(incident_id).responsibilities == []
    # a form-level check (empty responder) also names the field and changes nothing
    response = operator.post(f"{path}/respond", {"respond-responder": ""}, token_from=path)
    assert response.status_code == 422 and "必填" in response.get_data(as_text=True)
    assert fresh(incident_id).status == "reported"
    assert timeline_kinds(incident_id) == ["declared", "reported"]


def test_a_sub_cause_of_another_category_is_refused(operator):
    incident_id = declared_id(declare(operator))
    path = f"/incidents/{incident_id}"
    response = operator.post(f"{path}/responsibility", {
        "responsibility-entries-0-category": "human", "responsibility-entries-0-sub_cause": "equipment_failure",
        "responsibility-entries-0-share": "100",
    }, token_from=path)
    assert response.status_code == 422
    assert "责任认定第 1 条·具体原因" in response.get_data(as_text=True)
    assert fresh(incident_id).responsibilities == []


def test_an_operator_neither_sees_nor_submits_manager_actions(operator, manager):
    incident_id = declared_id(declare(operator))
    path = f"/incidents/{incident_id}"
    page = operator.get(path).get_data(as_text=True)
    assert "action-report" in page and "action-regrade" not in page and "action-cancel" not in page
    assert "action-regrade" in manager.get(path).get_data(as_text=True)
    for action, form in (("regrade", {"regrade-level": "1", "regrade-reason": "x"}),
                         ("cancel", {"cancel-reason": "x"}), ("close", {})):
        response = operator.post(f"{path}/{action}", form, token_from=path)
        assert response.status_code == 403, action
        assert "无权" in response.get_data(as_text=True)
    incident = fresh(incident_id)
    assert (incident.level, incident.status) == (3, "declared")
    assert timeline_kinds(incident_id) == ["declared"]


def test_a_reviewer_cannot_declare(browser_as):
    reviewer = browser_as("reviewer")
    assert reviewer.get("/incidents/new").status_code == 403
    assert "登记故障" not in reviewer.get("/incidents").get_data(as_text=True)


def test_an_unknown_incident_is_404(operator):
    assert operator.get("/incidents/999").status_code == 404
    response = operator.post("/incidents/999/report", {"report-fault_type": "x", "report-scope_summary": "y"})
    assert response.status_code in (302, 404)


def test_a_progress_update_marked_public_reaches_the_status_page(operator, client):
    from app.public.views import status_cache

    status_cache().clear()  # the session's app keeps renderings; this test's event ids start again at 1
    incident_id = declared_id(declare(operator))
    path = f"/incidents/{incident_id}"
    form = operator.get(path).get_data(as_text=True)
    assert 'name="update-public"' in form
    for message, public in (("抢修队已到达现场", "y"), ("内部：等待厂商备件", None)):
        fields = {"update-message": message, **({"update-public": public} if public else {})}
        response = operator.post(f"{path}/updates", fields, token_from=path)
        assert response.status_code == 302, response.get_data(as_text=True)
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id,
                                                            TimelineEvent.kind == "progress_update")
                                .order_by(TimelineEvent.id)).all()
    assert [event.after["public"] for event in events] == [True, False]
    public_page = client.get("/status").get_data(as_text=True)
    assert "抢修队已到达现场" in public_page and "等待厂商备件" not in public_page
