"""Item 6: a session cookie copied before log-out (or before a password change) must not open
the board or declare incidents afterwards."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.service import set_password
from app.extensions import db
from app.incidents.models import Incident
from tests.web.conftest import browser_as, csrf_token_of, fresh_client  # noqa: F401  (fixture)

DECLARE_FORM = {"title": "杭州城区移动数据业务中断", "description": "多个基站退服", "services": "mobile_data",
                "regions": "杭州", "detected_at": "2026-11-23T08:05", "estimated_recovery_at": "2026-11-23T12:00"}


@pytest.fixture(autouse=True)
def clock():
    with freeze_time(datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)) as frozen:
        yield frozen


def copied_session(app, browser):
    """Another client holding a copy of the browser's session cookie (as an attacker would)."""
    thief = fresh_client(app)
    thief.set_cookie("session", browser.client.get_cookie("session").value)
    return thief


def incidents() -> int:
    return db.session.scalar(select(func.count(Incident.id)))


def test_a_session_copied_before_logout_is_dead_after_it(app_ctx, browser_as):
    operator = browser_as(Role.operator)
    thief = copied_session(app_ctx, operator)
    assert thief.get("/incidents").status_code == 200           # the copy works while the owner is logged in
    form_token = csrf_token_of(thief.get("/incidents/new").get_data(as_text=True))
    operator.post("/logout", {}, token_from="/incidents")
    # The copy still carries a valid CSRF token: only the session version refuses it.
    declared = thief.post("/incidents/new", data={**DECLARE_FORM, "csrf_token": form_token})
    assert declared.status_code == 302 and declared.headers["Location"].startswith("/login")
    assert incidents() == 0
    board = thief.get("/incidents")
    assert board.status_code == 302 and board.headers["Location"].startswith("/login")


def test_a_password_change_ends_every_open_session(app_ctx, browser_as):
    manager = browser_as(Role.duty_manager)
    thief = copied_session(app_ctx, manager)
    set_password(manager.user.name, "一个全新的长密码-2026-b")
    for client in (manager.client, thief):
        assert client.get("/incidents").status_code == 302


def test_logging_in_again_after_logout_works(app_ctx, browser_as):
    from tests.web.conftest import log_in

    operator = browser_as(Role.operator)
    operator.post("/logout", {}, token_from="/incidents")
    assert log_in(operator.client, operator.user.name).status_code == 302
    assert operator.get("/incidents").status_code == 200
