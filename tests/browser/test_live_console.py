"""The live console in a real browser: countdowns tick, another person's change shows within 5 s,
alarms raise the banner, and the board answers its keys."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from app.auth.models import Role
from app.clock import utcnow
from app.incidents import service
from tests.browser.conftest import LIVE_WITHIN_MS


def declare(user, title: str, *, report_due_in: timedelta = timedelta(minutes=10), **overrides):
    """An incident whose report deadline (15 min after detection) falls ``report_due_in`` from now."""
    fields = {"services": ["mobile_data"], "regions": ["杭州"], **overrides}
    detected = utcnow() - timedelta(minutes=15) + report_due_in
    return service.declare(user, title=title, detected_at=detected, **fields)


def test_countdowns_tick_every_second_and_turn_red_when_the_deadline_passes(console_as):
    now = datetime.now(timezone.utc)
    operator = console_as(Role.operator, clock_at=now)
    incident = declare(operator.user, "即将超时的上报", report_due_in=timedelta(seconds=30))
    page = operator.page
    operator.open("/incidents")
    cell = page.locator("td.deadline-cell").first
    countdown = cell.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"剩余 0分[23]\d秒"))
    shown = countdown.inner_text()
    page.clock.run_for(2000)
    expect(countdown).not_to_have_text(shown)
    expect(cell).not_to_have_class(re.compile("overdue"))
    page.clock.fast_forward(32_000)
    expect(cell).to_have_class(re.compile("overdue"))
    expect(countdown).to_have_text(re.compile(r"已逾期 0分0\d秒"))

    operator.open(f"/incidents/{incident.id}")
    row = page.locator("#deadlines tr", has_text="上报服务调度中心")
    expect(row).to_have_class(re.compile("overdue"))
    expect(row.locator(".countdown")).to_have_text(re.compile(r"已逾期"))


def test_another_persons_change_shows_on_an_open_page_within_5_seconds(console_as):
    manager = console_as(Role.duty_manager)
    operator = console_as(Role.operator)
    incident = declare(manager.user, "杭州城区移动数据业务中断", estimated_recovery_at=utcnow() + timedelta(hours=3))
    manager.open(f"/incidents/{incident.id}")
    board = manager.page.context.new_page()
    board.goto(manager.base_url + "/incidents")

    operator.open(f"/incidents/{incident.id}")
    operator.page.click("#action-update summary")
    operator.page.fill("textarea[name='update-message']", "抢修队已到达西湖区机房")
    with operator.page.expect_navigation():
        operator.page.click("#action-update button[type=submit]")
    expect(manager.page.locator("[data-live-region='incident:timeline']")).to_contain_text(
        "抢修队已到达西湖区机房", timeout=LIVE_WITHIN_MS)

    operator.page.click("#action-report summary")
    operator.page.fill("input[name='report-fault_type']", "基站退服")
    operator.page.fill("textarea[name='report-scope_summary']", "杭州西湖区")
    with operator.page.expect_navigation():
        operator.page.click("#action-report button[type=submit]")
    expect(manager.page.locator("[data-live-region='incident:head'] .status")).to_have_text(
        "已上报", timeout=LIVE_WITHIN_MS)
    expect(board.locator("#board-table tr", has_text=incident.number).locator(".status")).to_have_text(
        "已上报", timeout=LIVE_WITHIN_MS)


def test_a_new_level_one_incident_or_a_breach_raises_the_banner(console_as):
    manager = console_as(Role.duty_manager)
    manager.open("/incidents")
    banner = manager.page.locator("#live-banner")
    expect(banner).to_be_hidden()
    level_one = service.declare(manager.user, title="全网核心网中断", services=["core_network"], regions=["杭州"])
    expect(banner).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(banner).to_contain_text(level_one.number)
    expect(banner).to_contain_text("一级故障")
    expect(manager.page.locator("#board-table")).to_contain_text("全网核心网中断", timeout=LIVE_WITHIN_MS)
    manager.page.click("[data-live-dismiss]")
    expect(banner).to_be_hidden()

    from app.scheduling import judge
    declare(manager.user, "已超时的三级故障", report_due_in=timedelta(seconds=-60))
    judge.judge_due()
    expect(banner).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(banner).to_contain_text("时限超时")
    expect(banner).to_contain_text("已超时的三级故障")


def test_board_keys_search_move_open_and_help(console_as):
    operator = console_as(Role.operator)
    first = declare(operator.user, "一号故障", report_due_in=timedelta(minutes=1))
    second = declare(operator.user, "二号故障", report_due_in=timedelta(minutes=5))
    page = operator.page
    operator.open("/incidents")
    page.keyboard.press("?")
    expect(page.locator("#keyboard-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#keyboard-help")).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_contain_text(first.number)
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_contain_text(second.number)
    page.keyboard.press("k")
    expect(page.locator("tr.selected")).to_contain_text(first.number)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/incidents/{first.id}")

    operator.open("/incidents")
    page.keyboard.press("/")
    expect(page.locator("#board-search")).to_be_focused()
    page.keyboard.type("二号")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#board-table tbody tr")).to_have_count(1)
    expect(page.locator("#board-table")).to_contain_text(second.number)
