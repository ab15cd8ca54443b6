"""A phone (390×844) and a wall screen (1920×1080); the console's own Chinese font and favicon."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from app.auth.models import Role
from app.clock import utcnow
from app.incidents import service

PHONE = {"width": 390, "height": 844}
WALL = {"width": 1920, "height": 1080}


def declare(user, title: str, **overrides):
    fields = {"services": ["mobile_data"], "regions": ["杭州"], "detected_at": utcnow() - timedelta(minutes=5),
              "description": "多个基站退服，" * 20, **overrides}
    return service.declare(user, title=title, **fields)


def horizontal_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def top_of(page, selector: str) -> float:
    return page.locator(selector).bounding_box()["y"]


def test_a_phone_sees_board_and_incident_without_sideways_scrolling(console_as):
    manager = console_as(Role.duty_manager, viewport=PHONE)
    incident = declare(manager.user, "杭州市西湖区、拱墅区、上城区移动数据与宽带业务大面积中断（长标题）",
                       services=["mobile_data", "broadband"], regions=["杭州", "宁波"])
    service.post_update(incident.id, manager.user, message="抢修进展：" + "已更换主控板" * 30, notify_subscribers=False)
    manager.open("/incidents")
    assert horizontal_overflow(manager.page) == 0
    expect(manager.page.locator("#board-table")).to_contain_text(incident.number)

    manager.open(f"/incidents/{incident.id}")
    assert horizontal_overflow(manager.page) == 0
    timeline = top_of(manager.page, "[data-live-region='incident:timeline']")
    assert top_of(manager.page, "#deadlines") < timeline
    assert top_of(manager.page, "#actions") < timeline


def test_the_wall_screen_shows_open_incidents_large_and_refreshes_itself(console_as):
    wall = console_as(Role.duty_manager, viewport=WALL)
    first = declare(wall.user, "全网核心网中断", services=["core_network"])
    wall.open("/incidents/wall")
    page = wall.page
    expect(page.locator(".topbar")).to_be_hidden()
    row = page.locator(".wall-table tbody tr", has_text=first.number)
    assert row.bounding_box()["height"] >= 40 and horizontal_overflow(page) == 0
    assert float(page.locator(".wall-table").evaluate("t => parseFloat(getComputedStyle(t).fontSize)")) >= 20
    assert page.locator("#wall-live a, #wall-live form, #wall-live button").count() == 0

    second = declare(wall.user, "宁波宽带中断", services=["broadband"], regions=["宁波"])
    expect(page.locator(".wall-table")).to_contain_text(second.number, timeout=5000)


def test_chinese_renders_with_the_consoles_own_font_and_there_is_a_favicon(console_as):
    operator = console_as(Role.operator)
    operator.open("/incidents")
    loaded = operator.page.evaluate(
        "document.fonts.load('16px \"Noto Sans SC Console\"', '故障看板').then(faces => faces.length)")
    assert loaded == 1
    icon = operator.page.locator("link[rel=icon]").get_attribute("href")
    assert operator.page.request.get(operator.base_url + icon).ok
