"""A drill (演练) is unmistakable in the browser, and the 应急预案 pages fit a phone."""
from __future__ import annotations

import os
from datetime import date, timedelta

from playwright.sync_api import expect

from app.auth.models import Role
from app.clock import utcnow
from app.incidents import service
from app.plans import service as plans

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("NOC_SCREENSHOT_DIR")   # set it to keep the pictures for a look


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_the_drill_badge_and_banner_show_on_board_and_incident_page(console_as):
    manager = console_as(Role.duty_manager)
    plan = plans.create_plan(manager.user, plans.PlanInput("杭州核心网中断应急预案", "核心网双平面切换", ["mobile_data"],
                                                           ["杭州"], manager.user.id, date.today() + timedelta(days=10)))
    drill = service.declare(manager.user, title="杭州核心网中断演练", services=["mobile_data"], regions=["杭州"],
                            detected_at=utcnow() - timedelta(minutes=5), drill=True, plan_ids=[plan.id])
    real = service.declare(manager.user, title="宁波宽带中断", services=["broadband"], regions=["宁波"])
    manager.open("/incidents")
    row = manager.page.locator("#board-table tr", has_text=drill.number)
    expect(row.locator(".badge.drill")).to_have_text("演练")
    expect(manager.page.locator("#board-table tr", has_text=real.number).locator(".badge.drill")).to_have_count(0)
    _shot(manager.page, "drill-board")

    manager.open(f"/incidents/{drill.id}")
    expect(manager.page.locator(".drill-banner")).to_be_visible()
    expect(manager.page.locator("#plans + ul")).to_contain_text("杭州核心网中断应急预案")
    _shot(manager.page, "drill-incident")


def test_the_plan_pages_fit_a_phone(console_as):
    manager = console_as(Role.duty_manager, viewport=PHONE)
    plan = plans.create_plan(manager.user, plans.PlanInput("宽带大面积中断应急预案（含 OLT 批量退服与光缆中断）", "",
                                                           ["broadband", "iptv"], ["杭州", "宁波", "温州"],
                                                           manager.user.id, date.today() - timedelta(days=3)))
    for path in ("/plans", f"/plans/{plan.id}", f"/plans/{plan.id}/edit", "/plans/new"):
        manager.open(path)
        overflow = manager.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow == 0, path
    manager.open("/plans")
    expect(manager.page.locator(".plan-review-lapsed")).to_contain_text("已过期 3 天")
    _shot(manager.page, "plans-phone")
