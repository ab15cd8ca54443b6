"""Times shown and read in the policy's zone; CSRF only on the console's own forms."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint

from app import create_app
from app.policy import parse_policy
from app.web import timefmt


def test_localtime_shows_utc_in_the_configured_zone(app_ctx):
    moment = datetime(2026, 11, 23, 0, 15, tzinfo=timezone.utc)
    assert timefmt.localtime(moment) == "2026-11-23 08:15"
    assert timefmt.localtime(None) == "—"
    assert app_ctx.jinja_env.filters["localtime"](moment) == "2026-11-23 08:15"


def test_local_wall_clock_converts_to_utc(app_ctx):
    assert timefmt.local_to_utc(datetime(2026, 11, 23, 8, 5)) == datetime(2026, 11, 23, 0, 5, tzinfo=timezone.utc)
    assert timefmt.local_to_utc(None) is None


def test_another_zone_in_the_policy_changes_what_is_shown(app_ctx):
    original = app_ctx.extensions["noc_policy"]
    app_ctx.extensions["noc_policy"] = parse_policy({**original.data, "timezone": "Europe/Berlin"})
    try:
        assert timefmt.localtime(datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)) == "2026-07-01 12:00"
        assert timefmt.local_to_utc(datetime(2026, 7, 1, 12, 0)) == datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)
    finally:
        app_ctx.extensions["noc_policy"] = original


def test_durations_read_naturally():
    assert timefmt.duration_text(12) == "12分"
    assert timefmt.duration_text(135) == "2小时15分"
    assert timefmt.duration_text(26 * 60 + 5) == "1天2小时"


def test_a_plain_blueprint_such_as_a_webhook_is_not_csrf_checked(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "TESTING": True})
    hooks = Blueprint("hooks_probe", __name__)
    hooks.add_url_rule("/webhooks/probe", "probe", lambda: ("ok", 200), methods=["POST"])
    app.register_blueprint(hooks)
    assert app.test_client().post("/webhooks/probe", data={"a": "1"}).status_code == 200
    assert app.test_client().post("/logout", data={}).status_code == 400  # the console's own form is checked
