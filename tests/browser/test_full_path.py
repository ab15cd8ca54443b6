"""A whole incident from the console, by every role in their own browser: declared, reported,
responded, responsibility set, recovered; the analysis report written, submitted and approved
by another reviewer; closed; a subscriber's dispute recorded by an agent and decided by a duty
manager who did not propose it."""
from __future__ import annotations

from datetime import timedelta

from app.auth.models import Role
from app.clock import utcnow
from app.extensions import db
from app.incidents import service as incidents
from app.policy import current_policy
from app.subscribers.models import Subscriber, SubscriberService


def add_subscriber(phone: str) -> None:
    now = utcnow()
    db.session.add(Subscriber(phone=phone, name="", region="杭州", monthly_fee_fen=12800, language="zh-CN",
                              created_at=now, updated_at=now, service_rows=[SubscriberService(service="mobile_data")]))
    db.session.commit()


def fill_and_send(console, container: str, fields: dict[str, str], *, select: dict[str, str] | None = None,
                  button: str = "button[type=submit]") -> None:
    """Open the folded form in ``container`` (if folded), fill it in, submit; wait for the next page."""
    page = console.page
    if page.locator(f"{container} > summary").count():
        page.click(f"{container} > summary")
    for name, value in (select or {}).items():
        page.select_option(f"[name='{name}']", value)
    for name, value in fields.items():
        page.fill(f"[name='{name}']", value)
    with page.expect_navigation():
        page.click(f"{container} {button}")


def act(console, action: str, fields: dict[str, str], **kwargs) -> None:
    fill_and_send(console, f"#action-{action}", fields, **kwargs)


def flash(console) -> str:
    return console.page.locator(".flashes").inner_text()


def test_declare_to_close_with_the_report_approved_and_a_dispute_decided(console_as):
    add_subscriber("+8613800000001")
    operator = console_as(Role.operator)
    operator.page.on("dialog", lambda dialog: dialog.accept())

    operator.open("/incidents/new")
    fill_and_send(operator, "form.declare", {"title": "杭州城区移动数据业务中断", "services": "移动数据", "regions": "杭州"},
                  button="button.primary")
    assert "已登记" in flash(operator)
    incident_path = operator.page.url.split(operator.base_url)[1]
    incident_id = int(incident_path.rsplit("/", 1)[1])
    assert "移动数据" in operator.page.locator(".facts").inner_text()

    later = (utcnow() + timedelta(hours=3)).astimezone(current_policy().zone).strftime("%Y-%m-%dT%H:%M")
    act(operator, "report", {"report-fault_type": "基站退服", "report-scope_summary": "杭州全市",
                             "report-estimated_recovery_at": later})
    act(operator, "respond", {"respond-responder": "张伟"})
    act(operator, "responsibility", {"responsibility-entries-0-share": "100"},
        select={"responsibility-entries-0-category": "technical",
                "responsibility-entries-0-sub_cause": "equipment_failure"})
    act(operator, "recover", {"recover-summary": "更换主控板后恢复"})
    assert incidents.get_incident(incident_id).status == "recovered"

    writer = console_as(Role.reviewer)
    writer.page.on("dialog", lambda dialog: dialog.accept())
    writer.open(incident_path)
    with writer.page.expect_navigation():
        writer.page.click("text=编写分析报告")
    writer.page.fill("[name=report-preventive_measures]", "主控板双机热备")
    with writer.page.expect_navigation():
        writer.page.click("form.report-edit button[type=submit]")
    assert "第 1 版" in flash(writer)
    with writer.page.expect_navigation():
        writer.page.click("text=提交报告")
    assert "报告由您提交，须由另一位审核人审核" in writer.page.content()

    approver = console_as(Role.reviewer)
    approver.open(f"{incident_path}/analysis-report")
    with approver.page.expect_navigation():
        approver.page.click("button:has-text('审核通过')")
    assert "已审核" in approver.page.locator("h1").inner_text()

    manager = console_as(Role.duty_manager)
    manager.page.on("dialog", lambda dialog: dialog.accept())
    manager.open(incident_path)
    assert "闭环条件" in manager.page.locator("#closure").inner_text()
    act(manager, "close", {})
    assert "故障已闭环" in flash(manager)

    agent = console_as(Role.agent)
    agent.open(incident_path)
    fill_and_send(agent, "#dispute-form", {"dispute-phone": "138 0000 0001", "dispute-reason": "用户称影响营业",
                                           "dispute-economic_credit": "5.00", "dispute-data_credit_gb": "2"})
    assert "补偿异议已登记" in flash(agent)

    manager.open(incident_path)
    with manager.page.expect_navigation():
        manager.page.click("form.decision button:has-text('批准')")
    assert "已批准补偿调整方案" in flash(manager)
    assert "已批准" in manager.page.locator("table.disputes").inner_text()
    assert incidents.get_incident(incident_id).status == "closed"


def test_an_empty_cancel_reason_is_said_before_any_confirm_dialog(console_as):
    manager = console_as(Role.duty_manager)
    incident = incidents.declare(manager.user, title="疑似误报", services=["broadband"], regions=["杭州"])
    dialogs: list[str] = []
    manager.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    manager.open(f"/incidents/{incident.id}")
    manager.page.click("#action-cancel summary")
    manager.page.click("#action-cancel button[type=submit]")
    assert manager.page.locator("#action-cancel small.error.client").inner_text() == "必填 (required)"
    assert dialogs == []
    manager.page.fill("[name=cancel-reason]", "告警源误报")
    manager.page.click("#action-cancel button[type=submit]")  # the dialog is dismissed: nothing is sent
    assert dialogs == ["确认将此故障作为误报撤销？所有时限将停止。"]
    assert incidents.get_incident(incident.id).status == "declared"
