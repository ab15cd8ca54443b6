"""A subscriber on a phone (390×844) asks "is my line affected?" on /status: the plain forms,
no script, no sideways scrolling, no console error (the CSP allows every asset)."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from app.clock import utcnow
from app.incidents import service
from app.service_names import service_name
from tests import factories
from tests.public.test_lookup import sent_code

PHONE = {"width": 390, "height": 844}
NUMBER = "+8613800138001"


def test_a_subscriber_looks_up_their_line_on_a_phone(app_ctx, make_user, live_server, chromium, gateway, sender):
    operator, _ = make_user()
    factories.subscriber(NUMBER, services=["mobile_data", "broadband"])
    incident = service.declare(operator, title="杭州移动数据中断", services=["mobile_data"], regions=["杭州"],
                               detected_at=utcnow() - timedelta(minutes=20))
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        page.goto(live_server + "/status")
        page.fill("#lookup-phone", "138 0013 8001")
        with page.expect_navigation():
            page.click("#lookup button[type=submit]")
        expect(page.locator(".summary.ok")).to_contain_text("验证码短信已发出")
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
        while sender.run_once():
            pass
        page.fill("#verify-code", sent_code(gateway, NUMBER))
        with page.expect_navigation():
            page.click("form[action='/status/lookup/verify'] button[type=submit]")
        expect(page.locator("h1")).to_have_text("号码 +86138****8001")
        expect(page.locator("article.outage")).to_contain_text(incident.number)
        # Their own affected service only: broadband is theirs but not in the outage.
        expect(page.locator("article.outage h2")).to_have_text("受影响业务：" + service_name("mobile_data"))
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
    finally:
        context.close()
    assert errors == []
