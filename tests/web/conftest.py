"""Console fixtures: a logged-in browser session per role, and the CSRF token a page carries."""
from __future__ import annotations

import re

import pytest
from flask import g
from flask.testing import FlaskClient

from app.auth.models import Role

PASSWORD = "正确的控制台密码-2026"
_CSRF = re.compile(r'name="(?:[\w-]+-)?csrf_token" type="hidden" value="([^"]+)"')


def csrf_token_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def fresh_request_globals() -> None:
    """The tests hold one app context open, so Flask reuses its ``g`` for every request; a real
    request starts with an empty one. Drop what a previous request cached there (Flask-WTF's
    token, the logged-in user) so each request sees only its own session."""
    g.pop("csrf_token", None)
    g.pop("current_user", None)


class FreshClient(FlaskClient):
    def open(self, *args, **kwargs):
        fresh_request_globals()
        return super().open(*args, **kwargs)


class Browser:
    """The test client used as a person would: open a page, read its token, post its form."""

    def __init__(self, client, user) -> None:
        self.client = client
        self.user = user

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/incidents") -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.status_code
        return csrf_token_of(page.get_data(as_text=True))

    def post(self, path, data=None, *, token_from: str = "/incidents", with_token: bool = True, **kwargs):
        data = dict(data or {})
        if with_token:
            data["csrf_token"] = self.token(token_from)
        return self.client.post(path, data=data, **kwargs)


def log_in(client, name: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": csrf_token_of(page.get_data(as_text=True))})


def fresh_client(app) -> FlaskClient:
    app.test_client_class = FreshClient
    try:
        return app.test_client()
    finally:
        app.test_client_class = None


@pytest.fixture
def console_client(app_ctx) -> FlaskClient:
    """A client with no session, each request with fresh request globals."""
    return fresh_client(app_ctx)


@pytest.fixture
def browser_as(app_ctx, make_user):
    """browser_as('duty_manager') → a Browser logged in as a fresh user of that role (own cookie jar)."""

    def _as(role: Role | str = Role.operator) -> Browser:
        user, _ = make_user(role, password=PASSWORD)
        client = fresh_client(app_ctx)
        response = log_in(client, user.name)
        assert response.status_code == 302, response.get_data(as_text=True)
        return Browser(client, user)

    return _as


@pytest.fixture
def operator(browser_as):
    return browser_as(Role.operator)


@pytest.fixture
def manager(browser_as):
    return browser_as(Role.duty_manager)
