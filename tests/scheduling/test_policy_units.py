"""The policy's window unit: minutes by default, seconds for drills; anything else stops start-up."""
from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest

from app.config import DEFAULT_POLICY_PATH
from app.policy import PolicyError, parse_policy
from tests.scheduling.walk import SECONDS_POLICY


def raw_default() -> dict:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def test_default_windows_are_minutes():
    policy = parse_policy(raw_default())
    assert policy.minutes("report_minutes") == timedelta(minutes=15)
    assert policy.respond_window(1) == timedelta(hours=2) and policy.recover_window(3) == timedelta(hours=12)
    assert policy.next_tier_after == timedelta(minutes=30)


def test_a_policy_without_the_unit_means_minutes():
    raw = raw_default()
    del raw["window_unit"]
    assert parse_policy(raw).minutes("formal_notice_minutes") == timedelta(hours=4)


def test_seconds_policy_for_drills():
    policy = parse_policy(tomllib.loads(SECONDS_POLICY.read_text(encoding="utf-8")))
    assert policy.minutes("report_minutes") == timedelta(seconds=2)
    assert policy.next_tier_after == timedelta(seconds=2)


def test_unknown_unit_is_refused_naming_the_key():
    raw = raw_default()
    raw["window_unit"] = "hours"
    with pytest.raises(PolicyError, match="window_unit"):
        parse_policy(raw)
