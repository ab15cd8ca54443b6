"""The permissions table is the only word on roles: every endpoint names an action in it."""
from __future__ import annotations

import pytest

from app import create_app
from app.auth import permissions
from app.auth.models import Role

# Answer without a login by design (API.md "Conventions"); the console's own log-in pages.
PUBLIC_ENDPOINTS = {
    "static", "api-docs.openapi_json", "health.healthz", "ops.metrics",
    "sms_webhooks.delivery_status", "sms_webhooks.inbound_sms",
    "console.static", "console.index", "console.login", "console.logout",
    "public.static", "public.status_page", "public.status_json",
    "public.status_lookup", "public.status_lookup_verify",
}


@pytest.fixture(scope="module")
def bare_app():
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def _endpoint_methods(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, rule.rule


def test_every_endpoint_names_a_permission(bare_app):
    missing = [
        f"{method} {path} ({endpoint})"
        for endpoint, method, path in _endpoint_methods(bare_app)
        if endpoint not in PUBLIC_ENDPOINTS
        and permissions.permission_of(bare_app.view_functions[endpoint], method) is None
    ]
    assert missing == []


def test_every_action_in_the_table_guards_something(bare_app):
    used = {
        permissions.permission_of(bare_app.view_functions[endpoint], method)
        for endpoint, method, _ in _endpoint_methods(bare_app)
        if endpoint not in PUBLIC_ENDPOINTS
    }
    assert set(permissions.PERMISSIONS) - used == set()


def test_admin_may_do_everything_and_roles_are_data():
    for action in permissions.PERMISSIONS:
        assert Role.admin.value in permissions.roles_for(action)
    assert permissions.roles_for("regrade") == {"duty_manager", "admin"}
    assert permissions.roles_for("declare") == {"operator", "duty_manager", "admin"}
    assert permissions.roles_for("approve_analysis_report") == {"reviewer", "admin"}
    with pytest.raises(KeyError):
        permissions.roles_for("no_such_action")


def test_an_alarm_integration_reads_no_incident_or_subscriber(api_as):
    machine = api_as(Role.integration)
    for path in ("/incidents", "/reports/summary", "/policy"):
        response = machine.get(path)
        assert response.status_code == 403, path
        assert "integration" in response.get_json()["message"]


def test_an_agent_reads_incidents_but_cannot_declare(api_as):
    agent = api_as(Role.agent)
    assert agent.get("/incidents").status_code == 200
    response = agent.post("/incidents", json={"title": "t", "services": ["mobile_data"], "regions": ["hangzhou"]})
    assert response.status_code == 403


def test_an_endpoint_missing_from_the_table_is_refused(app_ctx, make_user):
    """Deny by default: a view added without a permission answers 403, not open access."""
    from app.api_blueprint import api_blueprint

    app = create_app({"SQLALCHEMY_DATABASE_URI": app_ctx.config["SQLALCHEMY_DATABASE_URI"]})
    forgotten = api_blueprint("forgotten", __name__, url_prefix="/forgotten")

    @forgotten.route("", methods=["GET"])
    def unguarded():
        return {"secret": True}

    app.extensions["noc_api"].register_blueprint(forgotten)
    _, token = make_user(Role.admin)
    response = app.test_client().get("/api/v1/forgotten", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
