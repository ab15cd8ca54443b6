"""Fixtures for the notifier: subscribers and an incident (the gateway and sender are in tests/conftest.py)."""
from __future__ import annotations

import pytest

from app.auth.models import Role
from app.incidents.models import Status
from app.policy import parse_policy
from tests import factories

TITLE = "杭州移动数据中断"  # the notifier tests' own title: the SMS texts they check are of it


@pytest.fixture
def operator(make_user):
    user, _ = make_user(Role.operator)
    return user


@pytest.fixture
def declare(operator):
    def _declare(**fields):
        return factories.declare(operator, title=TITLE, **fields)
    return _declare


@pytest.fixture
def recovered_incident(operator):
    """Declare → report → respond → recover: the recovery notice is queued by then."""
    def _walk(**fields):
        return factories.incident_in(Status.recovered, operator, title=TITLE, **fields)
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
