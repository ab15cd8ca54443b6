"""Browser tests: Playwright driving Debian's chromium against the real app, served by waitress
on a free port of 127.0.0.1 over the test database (SQLite and PostgreSQL, like every database test).

Without chromium or the playwright package they are skipped with one line saying why, except
where they are required (CI, or NOC_REQUIRE_BROWSER=1): there the absence fails the run.
Every page a test opens is checked for browser console errors (a failed asset load is one, and
so is a 4xx page: a test that means to get one removes it from ``Console.errors`` itself).
"""
from __future__ import annotations

import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field

import pytest

from app.auth.models import Role

CHROMIUM = os.environ.get("NOC_CHROMIUM", "/usr/bin/chromium")
BROWSER_REQUIRED = os.environ.get("CI", "").lower() in {"1", "true"} or os.environ.get("NOC_REQUIRE_BROWSER") == "1"
PASSWORD = "浏览器测试-密码-123"
# Playwright's waits, not sleeps: the longest any live change may take to show (issue 10: 5 s).
LIVE_WITHIN_MS = 5000
_browser_unavailable: str | None = None


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"chromium not found at {CHROMIUM} (apt-get install chromium fonts-noto-cjk, or set NOC_CHROMIUM)"
    return None


def pytest_terminal_summary(terminalreporter):
    if _browser_unavailable:
        terminalreporter.write_line(f"Browser tests skipped: {_browser_unavailable}", yellow=True)


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the whole run (it is backend-independent)."""
    global _browser_unavailable
    reason = _why_no_browser()
    if reason:
        if BROWSER_REQUIRED:
            pytest.exit(f"Browser tests are required here but {reason}", returncode=3)
        _browser_unavailable = reason
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(app, chromium):
    """The application under waitress in a thread, as `flask serve` runs it; its base URL."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=6, clear_untrusted_proxy_headers=True)
    thread = threading.Thread(target=server.run, name="browser-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    server.task_dispatcher.shutdown()


@dataclass
class Console:
    """One person's browser: a Playwright page logged in as ``user``, console errors collected."""

    page: object
    user: object
    base_url: str
    errors: list[str] = field(default_factory=list)

    def open(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, f"{path}: {response.status if response else 'no response'}"
        return response


@pytest.fixture
def console_as(app_ctx, make_user, live_server, chromium):
    """console_as('duty_manager', viewport=…) → a Console logged in through the login page."""
    contexts = []
    consoles: list[Console] = []

    def _as(role: Role | str = Role.operator, *, viewport: dict | None = None, clock_at=None) -> Console:
        user, _ = make_user(role, name=f"{Role(role).value}-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        context = chromium.new_context(viewport=viewport or {"width": 1280, "height": 800}, locale="zh-CN",
                                       timezone_id="Asia/Shanghai")
        contexts.append(context)
        page = context.new_page()
        if clock_at is not None:
            page.clock.install(time=clock_at)
        console = Console(page, user, live_server)
        page.on("console", lambda message: message.type == "error" and console.errors.append(message.text))
        page.on("pageerror", lambda error: console.errors.append(str(error)))
        console.open("/login")
        page.fill("input[name=name]", user.name)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert "/login" not in page.url, "log-in failed"
        consoles.append(console)
        return console

    yield _as
    for context in contexts:
        context.close()
    for console in consoles:
        assert console.errors == [], f"browser console errors for {console.user.name}: {console.errors}"


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.browser)
