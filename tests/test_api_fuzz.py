"""Drive every documented endpoint with generated input (schemathesis, positive and
negative modes) and require that nothing answers 500. The path's incident id is pointed
at a real incident so the generated bodies reach the service code, not just a 404."""
from __future__ import annotations

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from app.auth.models import Role
from app.auth.service import create_user
from app.extensions import db
from app.incidents import service


@pytest.fixture
def api_schema(app_ctx):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app_ctx)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=15, deterministic=True)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def admin_token(app_ctx):
    return create_user("fuzz-admin", Role.admin)[1]


@pytest.fixture
def live_incident_id(app_ctx, admin_token):
    from app.auth.service import user_for_token

    admin = user_for_token(admin_token)
    return service.declare(admin, title="模糊测试", services=["broadband"], regions=["温州"]).id


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_generated_input_causes_a_server_error(case, admin_token, live_incident_id):
    if case.path_parameters and "incident_id" in case.path_parameters:
        case.path_parameters["incident_id"] = live_incident_id
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=[not_a_server_error])
    # A request must never leave the session in a failed transaction for the next one.
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        db.session.rollback()
        pytest.fail(f"{case.method} {case.formatted_path} left the transaction aborted: {exc.orig}")


def test_openapi_document_names_every_contract_path(client):
    document = client.get("/api/openapi.json").json
    paths = set(document["paths"])
    for expected in [
        "/api/v1/incidents", "/api/v1/incidents/{incident_id}", "/api/v1/incidents/{incident_id}/report",
        "/api/v1/incidents/{incident_id}/respond", "/api/v1/incidents/{incident_id}/updates",
        "/api/v1/incidents/{incident_id}/regrade", "/api/v1/incidents/{incident_id}/responsibility",
        "/api/v1/incidents/{incident_id}/recover", "/api/v1/incidents/{incident_id}/close",
        "/api/v1/incidents/{incident_id}/cancel", "/api/v1/incidents/{incident_id}/timeline", "/api/v1/policy",
    ]:
        assert expected in paths
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
