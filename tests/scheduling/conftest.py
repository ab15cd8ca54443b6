"""Fixtures of the deadline tests: an on-call duty manager, a policy of second-long windows."""
from __future__ import annotations

import pytest

from app.auth.models import Role
from app.policy import load_policy
from tests.scheduling.walk import SECONDS_POLICY


@pytest.fixture
def on_call_manager(make_user):
    user, _ = make_user(Role.duty_manager, on_call=True, phone="+8613800138000")
    return user


@pytest.fixture
def seconds_policy(app_ctx, monkeypatch):
    """Windows of seconds, for the real-time scheduler tests."""
    policy = load_policy(SECONDS_POLICY)
    monkeypatch.setitem(app_ctx.extensions, "noc_policy", policy)
    return policy

