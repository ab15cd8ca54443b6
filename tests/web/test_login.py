"""Log-in, log-out and the pages that need them."""
from __future__ import annotations

import pytest

from app.auth.models import Role
from tests.web.conftest import PASSWORD, csrf_token_of, log_in


@pytest.mark.parametrize("path", ["/incidents", "/incidents/new", "/incidents/1"])
def test_every_page_redirects_to_login_without_a_session(console_client, path):
    response = console_client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert path in response.headers["Location"]


def test_root_redirects_to_the_board_then_to_login(console_client):
    response = console_client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_wrong_password_is_refused_and_leaves_no_session(console_client, make_user):
    user, _ = make_user(Role.operator, password=PASSWORD)
    response = log_in(console_client, user.name, "wrong")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert console_client.get("/incidents").status_code == 302  # still not logged in


def test_a_user_without_a_password_cannot_log_in(console_client, make_user):
    user, _ = make_user(Role.operator)
    assert log_in(console_client, user.name, "").status_code == 400
    assert log_in(console_client, user.name, "anything").status_code == 401


def test_login_shows_name_and_role_and_follows_next(console_client, make_user):
    user, _ = make_user(Role.duty_manager, password=PASSWORD)
    page = console_client.get("/login?next=/incidents/new")
    response = console_client.post("/login?next=/incidents/new", data={
        "name": user.name, "password": PASSWORD, "csrf_token": csrf_token_of(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == "/incidents/new"
    board = console_client.get("/incidents").get_data(as_text=True)
    assert user.name in board and "值班经理" in board


def test_login_never_redirects_to_another_site(console_client, make_user):
    user, _ = make_user(Role.operator, password=PASSWORD)
    page = console_client.get("/login")
    response = console_client.post("/login?next=//evil.example/x", data={
        "name": user.name, "password": PASSWORD, "csrf_token": csrf_token_of(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/incidents"


def test_login_without_csrf_token_is_refused(console_client, make_user):
    user, _ = make_user(Role.operator, password=PASSWORD)
    response = console_client.post("/login", data={"name": user.name, "password": PASSWORD})
    assert response.status_code == 400
    assert console_client.get("/incidents").status_code == 302


def test_logout_ends_the_session(operator):
    assert operator.get("/incidents").status_code == 200
    response = operator.post("/logout")
    assert response.status_code == 302
    assert operator.get("/incidents").status_code == 302


def test_a_deactivated_user_is_logged_out(operator):
    from app.extensions import db

    operator.user.active = False
    db.session.commit()
    assert operator.get("/incidents").status_code == 302
