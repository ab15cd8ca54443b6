from __future__ import annotations

import pytest

from app.auth.models import ApiToken
from app.auth.service import hash_token
from app.extensions import db


def test_no_token_is_401_before_input_is_read(client):
    response = client.post("/api/v1/incidents", json={"title": "x"})
    assert response.status_code == 401
    assert response.json["code"] == 401 and response.json["message"]


def test_wrong_token_is_401(client):
    response = client.get("/api/v1/incidents", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


def test_tokens_are_stored_hashed(make_user):
    user, token = make_user("operator")
    stored = db.session.scalars(db.select(ApiToken.token_hash).where(ApiToken.user_id == user.id)).all()
    assert stored == [hash_token(token)] and token not in stored


@pytest.mark.parametrize("role, allowed", [("operator", False), ("reviewer", False), ("duty_manager", True), ("admin", True)])
def test_only_managers_regrade(api_as, role, allowed):
    operator = api_as("operator")
    incident = operator.post("/incidents", json={"title": "t", "services": ["iptv"], "regions": ["宁波"]}).json
    response = api_as(role).post(f"/incidents/{incident['id']}/regrade", json={"level": 2, "reason": "扩大"})
    assert response.status_code == (200 if allowed else 403)


def test_reviewer_cannot_declare(api_as):
    response = api_as("reviewer").post("/incidents", json={"title": "t", "services": ["iptv"], "regions": ["宁波"]})
    assert response.status_code == 403
    assert "reviewer" in response.json["message"]


def test_healthz_needs_no_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["checks"]["database"]["ok"] is True


def test_users_create_command_prints_a_token_once(app_ctx):
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(args=["users", "create", "zhangwei", "--role", "duty_manager"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    client = app_ctx.test_client()
    assert client.get("/api/v1/policy", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = runner.invoke(args=["users", "create", "zhangwei", "--role", "operator"])
    assert again.exit_code != 0 and "已存在" in again.output


def test_bootstrap_creates_the_admin_once_and_prints_its_login(app_ctx):
    runner = app_ctx.test_cli_runner()
    first = runner.invoke(args=["bootstrap"])
    assert first.exit_code == 0
    token = first.output.split("Authorization: Bearer ")[1].split()[0]
    password = first.output.split("密码 ")[1].split()[0]
    assert app_ctx.test_client().get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    from app.auth.service import user_for_password

    assert user_for_password("admin", password).role == "admin"
    second = runner.invoke(args=["bootstrap"])
    assert "Bearer" not in second.output and "跳过" in second.output
