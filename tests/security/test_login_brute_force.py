"""Item 6 (log-in): failures are counted in the database per user name and per client address,
lock the log-in with a back-off that doubles, take the same work for unknown and known names,
and are logged with the name masked and never the password."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from app.auth import passwords
from app.auth.models import LoginThrottle, Role
from app.extensions import db
from app.policy import current_policy
from tests.web.conftest import PASSWORD, console_client, fresh_client, log_in  # noqa: F401  (fixture)

START = datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    with freeze_time(START) as frozen:
        yield frozen


def test_five_failures_lock_the_name_even_for_the_right_password_then_back_off_doubles(
        app_ctx, console_client, make_user, clock):
    rules = current_policy().security
    user, _ = make_user(Role.operator, password=PASSWORD)
    for _ in range(rules["login_max_failures"]):
        assert log_in(console_client, user.name, "guess-guess-guess").status_code == 401
    locked = log_in(console_client, user.name, PASSWORD)
    assert locked.status_code == 429 and "登录失败次数过多" in locked.get_data(as_text=True)
    assert console_client.get("/incidents").status_code == 302
    clock.tick(timedelta(seconds=rules["login_lockout_seconds"] + 1))
    assert log_in(console_client, user.name, "guess-again-guess").status_code == 401   # one more failure …
    clock.tick(timedelta(seconds=rules["login_lockout_seconds"] + 1))
    assert log_in(console_client, user.name, PASSWORD).status_code == 429                # … locks twice as long
    clock.tick(timedelta(seconds=rules["login_lockout_seconds"]))
    assert log_in(console_client, user.name, PASSWORD).status_code == 302
    assert db.session.scalar(select(LoginThrottle).where(LoginThrottle.scope == "user")) is None  # success clears


def test_one_address_guessing_many_names_is_locked_out(app_ctx, make_user, clock):
    rules = current_policy().security
    victim, _ = make_user(Role.duty_manager, password=PASSWORD)
    attacker = fresh_client(app_ctx)
    for i in range(rules["login_address_max_failures"]):
        log_in(attacker, f"nobody-{i}", "guess-guess-guess")
    assert log_in(attacker, victim.name, PASSWORD).status_code == 429
    # The victim, from another address, is not locked out.
    elsewhere = fresh_client(app_ctx)
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    assert log_in(elsewhere, victim.name, PASSWORD).status_code == 302


@pytest.mark.parametrize("hops", [0, 1])
def test_the_address_comes_from_x_forwarded_for_only_behind_a_configured_proxy(database_url, hops, monkeypatch):
    from flask_migrate import upgrade

    from app import create_app

    monkeypatch.setenv("NOC_PROXY_HOPS", str(hops))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        upgrade()
        client = fresh_client(app)
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
        with freeze_time(START):
            log_in(client, "nobody-at-all", "guess-guess-guess")
        subject = db.session.scalar(select(LoginThrottle.subject).where(LoginThrottle.scope == "address"))
        db.session.execute(LoginThrottle.__table__.delete())
        db.session.commit()
        db.engine.dispose()
    assert subject == ("203.0.113.9" if hops else "127.0.0.1")


def test_failures_are_counted_in_the_database_for_every_web_process(app_ctx, console_client, make_user, clock):
    user, _ = make_user(Role.operator, password=PASSWORD)
    log_in(console_client, user.name, "guess-guess-guess")
    log_in(console_client, user.name.upper(), "guess-guess-guess")   # the same name, however typed
    rows = {(r.scope, r.failures) for r in db.session.scalars(select(LoginThrottle))}
    assert rows == {("user", 2), ("address", 2)}


def test_an_unknown_name_costs_the_same_password_hashing_as_a_known_one(app_ctx, console_client, make_user,
                                                                         monkeypatch, clock):
    user, _ = make_user(Role.operator, password=PASSWORD)
    checked = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    log_in(console_client, user.name, "guess-guess-guess")
    log_in(console_client, "no-such-user", "guess-guess-guess")
    passwordless, _ = make_user(Role.operator)
    log_in(console_client, passwordless.name, "guess-guess-guess")
    assert len(checked) == 3
    # the same algorithm and cost for all three (the dummy hash is made like a real one)
    assert len({h.split("$")[0] for h in checked}) == 1


def test_failed_logins_are_logged_masked_without_the_password(app_ctx, console_client, make_user, caplog, clock):
    user, _ = make_user(Role.operator, name="zhangwei-noc", password=PASSWORD)
    with caplog.at_level(logging.WARNING, logger="app.auth.service"):
        log_in(console_client, user.name, "my-secret-guess-1")
    (record,) = [r for r in caplog.records if "log-in failed" in r.getMessage()]
    text = record.getMessage()
    assert "zh***" in text and "zhangwei-noc" not in text and "my-secret-guess-1" not in text
    assert "127.0.0.1" in text
