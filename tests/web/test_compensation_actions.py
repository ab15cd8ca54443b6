"""Compensation from the console: record a dispute by the caller's number, a duty manager (never
the proposer) approves or rejects it; rectification items with owner and due date."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import Role
from app.compensation.models import CompensationVersion, RectificationItem
from app.extensions import db
from app.incidents import service as incidents
from app.reports import service as reports
from tests.web.test_panels import clock, page_of, section, subscribers, walk_to_recovery  # noqa: F401

DISPUTE = {"dispute-phone": "138 0000 0001", "dispute-reason": "用户称影响营业", "dispute-economic_credit": "5.00",
           "dispute-data_credit_gb": "2"}


def closed_incident(operator, manager, browser_as, clock) -> int:
    incident_id = walk_to_recovery(operator.user, clock)
    reports.edit(incident_id, browser_as(Role.reviewer).user, {"preventive_measures": "主控板冗余"})
    reports.submit(incident_id, manager.user)
    incidents.close(incident_id, manager.user)
    return incident_id


def dispute(browser, incident_id: int, **fields):
    return browser.post(f"/incidents/{incident_id}/compensation/disputes", {**DISPUTE, **fields},
                        token_from=f"/incidents/{incident_id}")


def decide(browser, incident_id: int, verb: str, note: str = ""):
    entry_id = db.session.scalar(select(CompensationVersion.entry_id).where(CompensationVersion.incident_id == incident_id))
    return browser.post(f"/incidents/{incident_id}/compensation/{entry_id}/{verb}", {"decision-note": note},
                        token_from=f"/incidents/{incident_id}")


def versions(incident_id: int) -> list[tuple[int, str]]:
    db.session.expire_all()
    return [(v.version, v.status) for v in db.session.scalars(
        select(CompensationVersion).where(CompensationVersion.incident_id == incident_id).order_by(CompensationVersion.id))]


def test_an_agent_records_a_dispute_and_a_duty_manager_approves_it(operator, manager, browser_as, subscribers, clock):
    incident_id = closed_incident(operator, manager, browser_as, clock)
    agent = browser_as(Role.agent)
    recorded = dispute(agent, incident_id)
    assert recorded.status_code == 302, recorded.get_data(as_text=True)
    assert versions(incident_id) == [(2, "proposed")]
    panel = section(page_of(manager, incident_id), "compensation")
    assert "+86138****0001" in panel and "5.00 元 · 2 GB" in panel and "待审批" in panel and "用户称影响营业" in panel
    assert "批准</button>" in panel and "驳回</button>" in panel
    assert "批准</button>" not in section(page_of(operator, incident_id), "compensation")

    assert decide(operator, incident_id, "approve").status_code == 403  # duty managers only
    approved = decide(manager, incident_id, "approve", "同意")
    assert approved.status_code == 302 and versions(incident_id) == [(2, "approved")]
    panel = section(page_of(agent, incident_id), "compensation")
    assert "已批准" in panel and "同意" in panel
    assert incidents.timeline_of(incident_id)[-1].kind == "compensation_adjustment_approved"


def test_the_proposer_never_decides_their_own_plan(operator, manager, browser_as, subscribers, clock):
    incident_id = closed_incident(operator, manager, browser_as, clock)
    assert dispute(manager, incident_id).status_code == 302
    panel = section(page_of(manager, incident_id), "compensation")
    assert "您提出的方案须由另一位值班经理审批" in panel and "批准</button>" not in panel
    refused = decide(manager, incident_id, "approve")
    assert refused.status_code == 403 and "不能审批自己的方案" in refused.get_data(as_text=True)
    assert versions(incident_id) == [(2, "proposed")]
    other = browser_as(Role.duty_manager)
    assert decide(other, incident_id, "reject", "超出标准").status_code == 302
    assert versions(incident_id) == [(2, "rejected")]


def test_bad_dispute_input_keeps_the_form_and_records_nothing(operator, manager, browser_as, subscribers, clock):
    incident_id = closed_incident(operator, manager, browser_as, clock)
    unknown = dispute(operator, incident_id, **{"dispute-phone": "139 9999 9999"})
    assert unknown.status_code == 422 and "不在本次故障的补偿台账中" in unknown.get_data(as_text=True)
    assert 'value="用户称影响营业"' in unknown.get_data(as_text=True) or "用户称影响营业</textarea>" in unknown.get_data(as_text=True)
    amount = dispute(operator, incident_id, **{"dispute-economic_credit": "5.001"})
    assert amount.status_code == 422 and "两位小数" in amount.get_data(as_text=True)
    unreadable = dispute(operator, incident_id, **{"dispute-phone": "不是号码"})
    assert unreadable.status_code == 422
    no_token = operator.post(f"/incidents/{incident_id}/compensation/disputes", DISPUTE, with_token=False)
    assert no_token.status_code == 400
    assert versions(incident_id) == []


def test_no_dispute_before_the_ledger_is_final(operator, manager, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    assert "登记补偿异议" not in section(page_of(manager, incident_id), "compensation")
    refused = dispute(manager, incident_id)
    assert refused.status_code == 302 and versions(incident_id) == []


def test_rectification_items_are_added_completed_and_reopened(operator, manager, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    page = f"/incidents/{incident_id}"
    added = operator.post(f"{page}/rectifications", {"rectification-title": "主控板双机热备改造",
                                                     "rectification-owner": "网络部 王强",
                                                     "rectification-due_date": "2026-12-01"}, token_from=page)
    assert added.status_code == 302, added.get_data(as_text=True)
    item = db.session.scalar(select(RectificationItem))
    panel = section(page_of(operator, incident_id), "compensation")
    assert "主控板双机热备改造" in panel and "网络部 王强" in panel and "2026-12-01" in panel and "待整改" in panel

    form = f"rect-{item.id}"
    base = {f"{form}-owner": "网络部 王强", f"{form}-due_date": "2026-12-01"}
    no_note = operator.post(f"{page}/rectifications/{item.id}", {**base, f"{form}-state": "done"}, token_from=page)
    assert no_note.status_code == 422 and "完成整改须说明完成情况" in no_note.get_data(as_text=True)
    done = operator.post(f"{page}/rectifications/{item.id}",
                         {**base, f"{form}-state": "done", f"{form}-completion_note": "已完成割接"}, token_from=page)
    assert done.status_code == 302
    db.session.refresh(item)
    assert item.completed_at is not None and item.completion_note == "已完成割接"
    moved = operator.post(f"{page}/rectifications/{item.id}", {**base, f"{form}-owner": "李娜",
                                                              f"{form}-due_date": "2026-12-15", f"{form}-state": "open"},
                          token_from=page)
    assert moved.status_code == 302
    db.session.refresh(item)
    assert (item.owner, item.due_date.isoformat(), item.completed_at) == ("李娜", "2026-12-15", None)
    kinds = [e.kind for e in incidents.timeline_of(incident_id)]
    assert kinds[-3:] == ["rectification_added", "rectification_completed", "rectification_reopened"]

    bad_date = operator.post(f"{page}/rectifications", {"rectification-title": "x", "rectification-owner": "y",
                                                        "rectification-due_date": "明天"}, token_from=page)
    assert bad_date.status_code == 422 and "日期格式应为" in bad_date.get_data(as_text=True)
    reviewer = browser_as(Role.reviewer)
    assert reviewer.post(f"{page}/rectifications", {"rectification-title": "x", "rectification-owner": "y",
                                                    "rectification-due_date": "2026-12-01"}, token_from=page).status_code == 403
    assert db.session.scalar(select(RectificationItem).where(RectificationItem.title == "x")) is None
