"""Fixtures for the notifier: subscribers and an incident (the gateway and sender are in tests/conftest.py)."""
from __future__ import annotations

import pytest

from app.auth.models import Role
from app.clock import utcnow
from app.incidents import service as incidents
from app.policy import parse_policy


@pytest.fixture
def operator(make_user):
    user, _ = make_user(Role.operator)
    return user


@pytest.fixture
def declare(operator):
    def _declare(services=("mobile_data",), regions=("杭州",), **kwargs):
        return incidents.declare(operator, title="杭州移动数据中断", services=list(services), regions=list(regions),
                                 **kwargs)
    return _declare


@pytest.fixture
def recovered_incident(declare, operator):
    """Declare → report → respond → recover: the recovery notice is queued by then."""
    def _walk(**kwargs):
        incident = declare(**kwargs)
        incidents.report(incident.id, operator, fault_type="基站退服", scope_summary="杭州",
                         estimated_recovery_at=utcnow().replace(year=2099))
        incidents.respond(incident.id, operator, responder="张伟", emergency_response=incident.major)
        return incidents.recover(incident.id, operator, summary="已恢复")
    return _walk


@pytest.fixture
def policy_with(app_ctx):
    original = app_ctx.extensions["noc_policy"]

    def _set(**notices):
        data = {**original.data, "notices": {**original.data["notices"], **notices}}
        app_ctx.extensions["noc_policy"] = parse_policy({k: v for k, v in data.items()})
        return app_ctx.extensions["noc_policy"]
    yield _set
    app_ctx.extensions["noc_policy"] = original


@pytest.fixture
def no_outage_notice(policy_with):
    """Only the notices a test is about: no automatic 故障通知 on report."""
    policy_with(initial_notice_on="manual")
