"""The analysis report from the console: a reviewer edits, submits; another approves; versions and
downloads; what blocks closure, each item linking to where it is fixed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.incidents import service as incidents
from app.reports import service as reports
from app.reports.models import AnalysisReport
from tests.web.test_panels import RECOVERED, clock, page_of, section, subscribers, walk_to_recovery  # noqa: F401

FIELDS = {"report-preventive_measures": "主控板双机热备", "report-lessons": "巡检漏项", "report-rectification_notes": ""}


def report_path(incident_id: int) -> str:
    return f"/incidents/{incident_id}/analysis-report"


def edit(browser, incident_id: int, base_version: int, **fields):
    data = {**FIELDS, "report-base_version": str(base_version), **fields}
    return browser.post(report_path(incident_id), data, token_from=report_path(incident_id))


def state_of(incident_id: int) -> str | None:
    report = db.session.scalar(select(AnalysisReport).where(AnalysisReport.incident_id == incident_id))
    db.session.refresh(report) if report else None
    return report.state if report else None


def test_a_reviewer_is_offered_the_report_on_a_recovered_incident(operator, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    reviewer = browser_as(Role.reviewer)
    actions = section(page_of(reviewer, incident_id), "actions")
    assert "编写分析报告" in actions and report_path(incident_id) in actions
    assert "没有可执行的操作" not in actions
    assert "编写分析报告" not in section(page_of(operator, incident_id), "actions")


def test_reviewer_edits_versions_submits_and_another_approves(operator, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    writer, approver = browser_as(Role.reviewer), browser_as(Role.reviewer)
    saved = edit(writer, incident_id, 0)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert reports.versions(incident_id)[-1].preventive_measures == "主控板双机热备"
    assert edit(writer, incident_id, 1, **{"report-lessons": "值守交接不清"}).status_code == 302
    page = writer.get(report_path(incident_id)).get_data(as_text=True)
    versions = section(page, "report-versions")
    assert "第 2 版" in versions and "第 1 版" in versions and writer.user.name in versions
    assert f"{report_path(incident_id)}.html?version=1" in versions
    first = writer.get(f"{report_path(incident_id)}.md?version=1").get_data(as_text=True)
    assert "巡检漏项" in first and "值守交接不清" not in first

    submitted = writer.post(f"{report_path(incident_id)}/submit", token_from=report_path(incident_id))
    assert submitted.status_code == 302 and state_of(incident_id) == "submitted"
    page = writer.get(report_path(incident_id)).get_data(as_text=True)
    assert "报告由您提交，须由另一位审核人审核" in page and "审核通过</button>" not in page
    refused = writer.post(f"{report_path(incident_id)}/approve", token_from=report_path(incident_id))
    assert refused.status_code == 403 and "不能审核自己提交的报告" in refused.get_data(as_text=True)
    assert state_of(incident_id) == "submitted"

    assert "审核通过</button>" in approver.get(report_path(incident_id)).get_data(as_text=True)
    approved = approver.post(f"{report_path(incident_id)}/approve", token_from=report_path(incident_id))
    assert approved.status_code == 302 and state_of(incident_id) == "approved"
    for fmt in ("html", "md"):
        assert approver.get(f"{report_path(incident_id)}.{fmt}").status_code == 200


def test_a_stale_edit_keeps_the_typed_text_and_saves_nothing(operator, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    first, second = browser_as(Role.reviewer), browser_as(Role.reviewer)
    assert edit(first, incident_id, 0).status_code == 302
    stale = edit(second, incident_id, 0, **{"report-lessons": "第二位审核人的经验教训"})
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "第二位审核人的经验教训" in body and "第 1 版" in body
    assert len(reports.versions(incident_id)) == 1


def test_over_long_text_is_refused_with_a_message(operator, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    reviewer = browser_as(Role.reviewer)
    refused = edit(reviewer, incident_id, 0, **{"report-lessons": "长" * 20001})
    assert refused.status_code == 422 and "不超过 20000 个字符" in refused.get_data(as_text=True)
    assert reports.versions(incident_id) == []


def test_roles_and_csrf_guard_every_report_action(operator, manager, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    assert edit(operator, incident_id, 0).status_code == 403
    assert edit(manager, incident_id, 0).status_code == 403
    reviewer = browser_as(Role.reviewer)
    no_token = reviewer.post(report_path(incident_id), {**FIELDS, "report-base_version": "0"}, with_token=False)
    assert no_token.status_code == 400 and reports.versions(incident_id) == []
    assert edit(reviewer, incident_id, 0).status_code == 302
    assert operator.post(f"{report_path(incident_id)}/submit", token_from=report_path(incident_id)).status_code == 403
    assert manager.post(f"{report_path(incident_id)}/submit", token_from=report_path(incident_id)).status_code == 302
    assert manager.post(f"{report_path(incident_id)}/approve", token_from=report_path(incident_id)).status_code == 403
    assert state_of(incident_id) == "submitted"


def test_submit_without_preventive_measures_says_so(operator, manager, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    refused = manager.post(f"{report_path(incident_id)}/submit", token_from=report_path(incident_id),
                           follow_redirects=True)
    assert "提交前须填写后续预防措施" in refused.get_data(as_text=True)
    assert state_of(incident_id) is None or state_of(incident_id) == "draft"


def test_closure_blockers_link_to_where_each_is_fixed(operator, manager, browser_as, subscribers, clock):
    incident = incidents.declare(operator.user, title="宁波宽带中断", services=["broadband"], regions=["宁波"])
    incidents.report(incident.id, operator.user, fault_type="光缆中断", scope_summary="宁波",
                     estimated_recovery_at=RECOVERED)
    incidents.respond(incident.id, operator.user, responder="李娜", emergency_response=False)
    clock.move_to(RECOVERED)
    incidents.recover(incident.id, operator.user, summary="熔接恢复")
    closure = section(page_of(manager, incident.id), "actions").split('id="closure"')[1]
    assert 'href="#action-responsibility"' in closure and "原因与责任认定" in closure
    assert f'href="{report_path(incident.id)}"' in closure and "已提交的故障分析报告" in closure
    refused = manager.post(f"/incidents/{incident.id}/close", token_from=f"/incidents/{incident.id}",
                           follow_redirects=True)
    assert "尚缺" in refused.get_data(as_text=True)
    assert incidents.get_incident(incident.id).status == "recovered"

    reviewer = browser_as(Role.reviewer)
    clock.move_to(RECOVERED + timedelta(hours=1))
    assert edit(reviewer, incident.id, 0).status_code == 302
    assert manager.post(f"{report_path(incident.id)}/submit", token_from=report_path(incident.id)).status_code == 302
    closure = section(page_of(manager, incident.id), "actions").split('id="closure"')[1]
    assert "已提交的故障分析报告" not in closure and "原因与责任认定" in closure
