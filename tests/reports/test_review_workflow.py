"""The review workflow: reviewer edits are versions, submit meets the window, a reviewer approves,
and closing the incident needs the submitted report (and the responsibility)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from app.auth.models import Role
from app.extensions import db
from tests.reports.worked import AFTER, DECLARED, RECOVERED
from tests.factories import send_formal_notice

REPORT = "/incidents/{}/analysis-report"


def _analysis_deadline(api, incident_id):
    """The analysis_report row of the deadline table, as GET /incidents/{id}/deadlines shows it."""
    return next(d for d in api.get(f"/incidents/{incident_id}/deadlines").json if d["kind"] == "analysis_report")


@pytest.fixture
def reviewer(api_as):
    return api_as(Role.reviewer)


@freeze_time(AFTER)
def test_each_edit_is_a_new_version_and_older_versions_stay_readable(worked_incident, reviewer, api_as):
    path = REPORT.format(worked_incident)
    first = reviewer.put(path, json={"preventive_measures": "增加冗余", "lessons": "告警确认太慢"})
    assert first.status_code == 200 and first.json["version"] == 1
    second = reviewer.put(path, json={"preventive_measures": "增加主控板冗余配置", "base_version": 1})
    assert second.status_code == 200 and second.json["version"] == 2
    assert second.json["lessons"] == "告警确认太慢"  # carried over, not lost
    assert second.json["edited_by"] and second.json["policy_version"]

    versions = reviewer.get(path + "/versions").json
    assert [(v["version"], v["preventive_measures"]) for v in versions] == [(1, "增加冗余"), (2, "增加主控板冗余配置")]
    assert reviewer.get(path).json["sections"][7]["data"]["preventive_measures"] == "增加主控板冗余配置"
    old = reviewer.get(path + "?version=1&format=md").get_data(as_text=True)
    assert "增加冗余" in old and "增加主控板冗余配置" not in old
    assert reviewer.get(path + "?version=9").status_code == 404

    stale = reviewer.put(path, json={"lessons": "x", "base_version": 1})
    assert stale.status_code == 409 and stale.json["latest_version"] == 2
    assert len(reviewer.get(path + "/versions").json) == 2  # the refused edit wrote nothing


@freeze_time(AFTER)
def test_versions_cannot_be_overwritten_even_in_sql(worked_incident, reviewer):
    reviewer.put(REPORT.format(worked_incident), json={"preventive_measures": "原文"})
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(sa.text("UPDATE analysis_report_versions SET preventive_measures = 'changed'"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(sa.text("DELETE FROM analysis_report_versions"))
    db.session.rollback()
    assert reviewer.get(REPORT.format(worked_incident) + "/versions").json[0]["preventive_measures"] == "原文"


@freeze_time(AFTER)
def test_only_reviewers_edit_and_approve(worked_incident, reviewer, api_as):
    path = REPORT.format(worked_incident)
    for role in (Role.operator, Role.duty_manager):
        response = api_as(role).put(path, json={"preventive_measures": "x"})
        assert response.status_code == 403, role
    assert api_as(Role.admin).put(path, json={"preventive_measures": "管理员补充"}).status_code == 200
    # anyone signed in may read it
    assert api_as(Role.operator).get(path + "?format=html").status_code == 200


@freeze_time(AFTER)
def test_bad_edits_are_refused_naming_the_field(worked_incident, reviewer):
    path = REPORT.format(worked_incident)
    empty = reviewer.put(path, json={})
    assert empty.status_code == 422 and "preventive_measures" in empty.json["message"]
    wrong_type = reviewer.put(path, json={"lessons": 5})
    assert wrong_type.status_code == 422 and "lessons" in wrong_type.json["errors"]["json"]
    unknown_format = reviewer.get(path + "?format=docx")
    assert unknown_format.status_code == 422 and "format" in unknown_format.json["errors"]["query"]
    assert reviewer.get(path + "/versions").json == []


def test_no_report_before_recovery(app_ctx, operator_api, reviewer):
    with freeze_time(DECLARED):
        incident = operator_api.post("/incidents", json={"title": "测试", "services": ["mobile_data"],
                                                         "regions": ["杭州"]}).json
        path = REPORT.format(incident["id"])
        for call in (reviewer.get(path), reviewer.put(path, json={"lessons": "x"}), reviewer.post(path + "/submit")):
            assert call.status_code == 409
            assert call.json["state"] == "declared"
    assert reviewer.get(REPORT.format(999999)).status_code == 404


def test_submit_meets_the_window_then_a_reviewer_approves(worked_incident, reviewer, api_as, manager_api):
    path = REPORT.format(worked_incident)
    with freeze_time(AFTER):
        missing = manager_api.post(path + "/submit")
        assert missing.status_code == 422 and "preventive_measures" in missing.json["message"]
        reviewer.put(path, json={"preventive_measures": "增加主控板冗余配置"})
        assert api_as(Role.operator).post(path + "/submit").status_code == 403
        early_approval = reviewer.post(path + "/approve")
        assert early_approval.status_code == 409 and early_approval.json["state"] == "draft"

    submitted_at = AFTER + timedelta(minutes=5)
    with freeze_time(submitted_at):
        submitted = manager_api.post(path + "/submit")
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["state"] == "submitted" and submitted.json["submitted_version"] == 1
    incident = manager_api.get(f"/incidents/{worked_incident}").json
    assert incident["analysis_report_submitted_at"] == submitted_at.isoformat()
    timeline = [e["kind"] for e in manager_api.get(f"/incidents/{worked_incident}/timeline").json]
    assert timeline[-1] == "analysis_report_submitted"
    # Submitting met the deadline in the deadline table: due 24 h after recovery, met at submission.
    deadline = _analysis_deadline(manager_api, worked_incident)
    assert deadline["due_at"] == (RECOVERED + timedelta(hours=24)).isoformat()
    assert (deadline["state"], deadline["met_at"], deadline["breached_at"]) == ("met", submitted_at.isoformat(), None)

    with freeze_time(submitted_at):
        doc = reviewer.get(path).json
        assert doc["state"] == "submitted"
        rows = {r["kind"]: r for r in doc["sections"][4]["data"]["rows"]}
        assert rows["analysis_report"]["state"] == "met"
        frozen = reviewer.put(path, json={"lessons": "迟到的修改"})
        assert frozen.status_code == 409 and frozen.json["state"] == "submitted"
        assert manager_api.post(path + "/submit").status_code == 409
        assert manager_api.post(path + "/approve").status_code == 403
        send_formal_notice(worked_incident)
        approved = reviewer.post(path + "/approve")
    assert approved.status_code == 200 and approved.json["state"] == "approved"
    assert approved.json["approved_at"] == submitted_at.isoformat()
    with freeze_time(submitted_at):
        assert reviewer.post(path + "/approve").status_code == 409
        assert "已审核" in reviewer.get(path + "?format=html").get_data(as_text=True)


def test_a_late_submission_leaves_the_deadline_breached_with_when_it_was_met(worked_incident, reviewer, manager_api):
    path = REPORT.format(worked_incident)
    due = RECOVERED + timedelta(hours=24)
    with freeze_time(AFTER):
        reviewer.put(path, json={"preventive_measures": "增加主控板冗余配置"})
        assert _analysis_deadline(manager_api, worked_incident)["state"] == "pending"
    submitted_at = due + timedelta(minutes=90)  # no scheduler ran meanwhile: the submission judges it
    with freeze_time(submitted_at):
        assert manager_api.post(path + "/submit").status_code == 200
        deadline = _analysis_deadline(manager_api, worked_incident)
        rows = {r["kind"]: r for r in reviewer.get(path).json["sections"][4]["data"]["rows"]}
    assert deadline["due_at"] == due.isoformat()
    assert (deadline["state"], deadline["met_at"]) == ("breached", submitted_at.isoformat())
    assert deadline["breached_at"] is not None and deadline["seconds_late"] == 90 * 60
    assert (rows["analysis_report"]["state"], rows["analysis_report"]["late_minutes"]) == ("breached", 90)
    kinds = [e["kind"] for e in manager_api.get(f"/incidents/{worked_incident}/timeline").json]
    assert kinds[-3:] == ["analysis_report_submitted", "deadline_breached", "deadline_met_late"]


def test_closure_is_refused_until_the_report_is_submitted(app_ctx, operator_api, manager_api, reviewer):
    with freeze_time(DECLARED):
        incident = operator_api.post("/incidents", json={"title": "宁波宽带中断", "services": ["broadband"],
                                                         "regions": ["宁波"]}).json
        path = f"/incidents/{incident['id']}"
        operator_api.post(path + "/report", json={"fault_type": "光缆中断", "scope_summary": "宁波",
                                                  "estimated_recovery_at": (DECLARED + timedelta(hours=2)).isoformat()})
        operator_api.post(path + "/respond", json={"responder": "李娜"})
        assert operator_api.post(path + "/recover", json={"summary": "熔接完成"}).status_code == 200

        refused = manager_api.post(path + "/close")
        assert refused.status_code == 409 and refused.json["missing"] == ["responsibility", "analysis_report"]
        reviewer.put(path + "/analysis-report", json={"preventive_measures": "光缆双路由"})
        assert manager_api.post(path + "/analysis-report/submit").status_code == 200
        still = manager_api.post(path + "/close")
        assert still.status_code == 409 and still.json["missing"] == ["responsibility"]
        operator_api.put(path + "/responsibility", json=[
            {"category": "external", "sub_cause": "third_party_failure", "party": "市政施工队", "share": 100}])
        closed = manager_api.post(path + "/close")
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    with freeze_time(DECLARED):
        # a closed incident's report is still readable, and approvable
        assert reviewer.get(path + "/analysis-report?format=md").status_code == 200
        assert reviewer.post(path + "/analysis-report/approve").status_code == 200


def test_a_crash_during_submission_leaves_everything_as_it_was(worked_incident, reviewer, manager_api, monkeypatch):
    """The submission is one transaction: a failure meeting its deadline undoes all of it."""
    from app.scheduling import service as deadlines

    path = REPORT.format(worked_incident)

    def crash(*args, **kwargs):
        raise RuntimeError("scheduler crashed mid-submission")

    with freeze_time(AFTER):
        reviewer.put(path, json={"preventive_measures": "增加主控板冗余配置"})
        with monkeypatch.context() as patched:
            patched.setattr(deadlines, "fulfil", crash)
            with pytest.raises(RuntimeError):
                manager_api.post(path + "/submit")  # TESTING propagates the exception
        db.session.rollback()
        assert manager_api.get(f"/incidents/{worked_incident}").json["analysis_report_submitted_at"] is None
        assert reviewer.get(path).json["state"] == "draft"
        assert _analysis_deadline(manager_api, worked_incident)["state"] == "pending"  # undone with the rest
        assert "analysis_report_submitted" not in [e["kind"] for e in manager_api.get(f"/incidents/{worked_incident}/timeline").json]
        # and the retry goes through exactly once
        assert manager_api.post(path + "/submit").status_code == 200
        assert [e["kind"] for e in manager_api.get(f"/incidents/{worked_incident}/timeline").json].count(
            "analysis_report_submitted") == 1
