"""Item 6 (cookies): SameSite=Lax and HttpOnly really set (a setdefault on a key Flask already
defines changed nothing), Secure when the site is served over HTTPS (NOC_HTTPS=1)."""
from __future__ import annotations

import pytest

from app import create_app


def _login_page_cookie(app) -> str:
    response = app.test_client().get("/login")  # the CSRF token puts something in the session
    assert response.status_code == 200
    (cookie,) = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    return cookie


@pytest.mark.parametrize("https", [False, True])
def test_the_session_cookie_flags(monkeypatch, https):
    monkeypatch.setenv("NOC_HTTPS", "1" if https else "0")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    cookie = _login_page_cookie(app)
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert ("Secure" in cookie) is https
    hsts = app.test_client().get("/login").headers.get("Strict-Transport-Security")
    assert (hsts is not None) is https
