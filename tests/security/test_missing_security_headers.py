"""Item 7: every HTML response (console, analysis report, summary) carries the security headers,
with a CSP that allows no inline script and only the inline <style> blocks the page itself carries."""
from __future__ import annotations

import re

from freezegun import freeze_time

from app.auth.models import Role
from app.security_headers import style_hashes
from tests.reports.conftest import worked_incident  # noqa: F401  (fixture)
from tests.reports.worked import AFTER
from tests.web.conftest import browser_as, console_client  # noqa: F401  (fixtures)


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_secured_html(response) -> dict[str, list[str]]:
    assert response.mimetype == "text/html"
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "same-origin"
    csp = _csp(response)
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("script-src") == ["'self'"]
    assert csp.get("object-src") == ["'none'"]
    assert "'unsafe-inline'" not in csp.get("style-src", []) and "'unsafe-eval'" not in str(csp)
    return csp


def test_console_pages_carry_the_headers(console_client, browser_as):
    assert_secured_html(console_client.get("/login"))
    manager = browser_as(Role.duty_manager)
    for path in ("/incidents", "/incidents/new"):
        csp = assert_secured_html(manager.get(path))
        assert csp["style-src"] == ["'self'"]  # the console has no inline style at all


def test_report_html_carries_the_headers_and_only_its_own_style_block(worked_incident, api_as):  # noqa: F811
    reviewer = api_as(Role.reviewer)
    with freeze_time(AFTER):
        response = reviewer.get(f"/incidents/{worked_incident}/analysis-report?format=html")
        summary = reviewer.get("/reports/summary?from=2026-01-01T00:00:00%2B08:00&to=2026-12-31T00:00:00%2B08:00"
                               "&format=html")
    for page in (response, summary):
        assert page.status_code == 200
        csp = assert_secured_html(page)
        html = page.get_data(as_text=True)
        hashes = style_hashes(html)
        assert hashes and set(csp["style-src"]) == {"'self'", *hashes}
        assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)  # no style attribute a hash cannot allow


def test_json_and_markdown_answers_are_not_sniffed(worked_incident, api_as):  # noqa: F811
    reviewer = api_as(Role.reviewer)
    with freeze_time(AFTER):
        for response in (reviewer.get(f"/incidents/{worked_incident}"),
                         reviewer.get(f"/incidents/{worked_incident}/analysis-report?format=md")):
            assert response.headers.get("X-Content-Type-Options") == "nosniff"
            assert response.headers.get("Referrer-Policy") == "same-origin"
