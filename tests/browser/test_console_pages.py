"""Every console page opens in a real browser without a console error."""
from __future__ import annotations

from app.auth.models import Role
from app.incidents import service


def declare(user, **overrides):
    fields = {"title": "杭州城区移动数据业务中断", "services": ["mobile_data"], "regions": ["杭州"], **overrides}
    return service.declare(user, **fields)


def test_board_and_incident_page_open_without_console_errors(console_as):
    manager = console_as(Role.duty_manager)
    incident = declare(manager.user)
    manager.open("/incidents")
    assert manager.page.locator("table.board").get_by_text(incident.number).is_visible()
    manager.open(f"/incidents/{incident.id}")
    assert incident.title in manager.page.locator("h1").inner_text()
