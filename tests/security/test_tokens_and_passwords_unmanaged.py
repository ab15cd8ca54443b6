"""Item 8: tokens can be revoked, rotated and expire; a deactivated user's token and console
session stop at once; passwords follow a minimum policy and can be reset."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from app.auth.models import Role
from app.auth.passwords import WeakPassword
from app.auth.service import create_user
from app.policy import current_policy
from tests.web.conftest import PASSWORD, browser_as, fresh_client, log_in  # noqa: F401  (fixture)

ISSUED = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)


def answer(app, token):
    return app.test_client().get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=["users", *args], **kwargs)


def test_revoke_ends_every_token_of_the_user(app_ctx, make_user):
    user, first = make_user(Role.operator)
    second = run(app_ctx, "rotate-token", user.name).output.strip().splitlines()[-1]
    result = run(app_ctx, "revoke", user.name)
    assert result.exit_code == 0 and "1 个" in result.output
    assert answer(app_ctx, first).status_code == 401 and answer(app_ctx, second).status_code == 401
    assert run(app_ctx, "revoke", "nobody").exit_code != 0


def test_rotate_prints_a_new_token_once_and_the_old_one_stops(app_ctx, make_user):
    user, old = make_user(Role.operator)
    result = run(app_ctx, "rotate-token", user.name)
    assert result.exit_code == 0, result.output
    new = result.output.strip().splitlines()[-1]
    assert new != old and result.output.count(new) == 1
    assert answer(app_ctx, old).status_code == 401
    assert answer(app_ctx, new).status_code == 200


def test_a_token_expires_after_the_policy_days_with_a_401_naming_expiry(app_ctx):
    days = current_policy().security["api_token_days"]
    with freeze_time(ISSUED):
        _, token = create_user("li-expiring", Role.operator)
    with freeze_time(ISSUED + timedelta(days=days) - timedelta(seconds=1)):
        assert answer(app_ctx, token).status_code == 200
    with freeze_time(ISSUED + timedelta(days=days)):
        expired = answer(app_ctx, token)
        assert expired.status_code == 401 and "expired" in expired.json["message"]
        fresh = run(app_ctx, "rotate-token", "li-expiring").output.strip().splitlines()[-1]
        assert answer(app_ctx, fresh).status_code == 200


def test_deactivate_stops_token_and_console_session_at_once(app_ctx, browser_as):
    manager = browser_as(Role.duty_manager)
    _, token = create_user("wang-leaving", Role.operator, password="离职员工的控制台密码-2026")
    assert answer(app_ctx, token).status_code == 200
    assert run(app_ctx, "deactivate", manager.user.name).exit_code == 0
    assert run(app_ctx, "deactivate", "wang-leaving").exit_code == 0
    assert manager.get("/incidents").status_code == 302
    assert answer(app_ctx, token).status_code == 401
    assert log_in(fresh_client(app_ctx), "wang-leaving", "离职员工的控制台密码-2026").status_code == 401


@pytest.mark.parametrize("password, reason", [
    ("short-pw-1", "至少"),
    ("li-lei-console-2026", "用户名"),
    ("Password12345", "常见"),
])
def test_weak_passwords_are_refused_naming_why(app_ctx, password, reason):
    with pytest.raises(WeakPassword, match=reason):
        create_user("li-lei", Role.operator, password=password)
    create_user("li-lei", Role.operator)
    result = run(app_ctx, "set-password", "li-lei", "--password", password)
    assert result.exit_code != 0 and reason in result.output


def test_set_password_replaces_the_old_one(app_ctx, browser_as):
    operator = browser_as(Role.operator)
    result = run(app_ctx, "set-password", operator.user.name, input="新的控制台登录密码-足够长\n新的控制台登录密码-足够长\n")
    assert result.exit_code == 0, result.output
    assert operator.get("/incidents").status_code == 302          # the open session ended
    assert log_in(fresh_client(app_ctx), operator.user.name, PASSWORD).status_code == 401
    assert log_in(fresh_client(app_ctx), operator.user.name, "新的控制台登录密码-足够长").status_code == 302
