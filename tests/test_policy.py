from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from app import create_app
from app.config import DEFAULT_POLICY_PATH
from app.policy import PolicyError, load_policy


def _write_policy(tmp_path: Path, mutate) -> Path:
    raw = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    path = tmp_path / "policy.toml"
    path.write_text(mutate(raw), encoding="utf-8")
    return path


def test_default_policy_carries_the_rules_numbers():
    policy = load_policy(DEFAULT_POLICY_PATH)
    assert [policy.respond_window(level).total_seconds() / 3600 for level in (1, 2, 3)] == [2, 4, 8]
    assert [policy.recover_window(level).total_seconds() / 3600 for level in (1, 2, 3)] == [4, 8, 12]
    assert policy.minutes("report_minutes").total_seconds() == 15 * 60
    assert policy.minutes("analysis_report_minutes").total_seconds() == 24 * 3600
    assert policy.version.startswith("2026.1+")


def test_changing_a_number_changes_the_version(tmp_path):
    edited = load_policy(_write_policy(tmp_path, lambda s: s.replace("report_minutes = 15", "report_minutes = 20")))
    assert edited.minutes("report_minutes").total_seconds() == 20 * 60
    assert edited.version != load_policy(DEFAULT_POLICY_PATH).version


@pytest.mark.parametrize("mutate, key", [
    (lambda s: s.replace("report_minutes = 15", "report_minutes = -1"), "windows.report_minutes"),
    (lambda s: s.replace("report_minutes = 15", 'report_minutes = "15"'), "windows.report_minutes"),
    (lambda s: s.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "timezone"),
    (lambda s: s.replace("[grades.3]", "[grades.9]"), "grades"),
    (lambda s: s + "\n[surprise]\nx = 1\n", "surprise"),
])
def test_a_bad_policy_stops_start_up_naming_the_key(tmp_path, monkeypatch, mutate, key):
    path = _write_policy(tmp_path, mutate)
    monkeypatch.setenv("NOC_POLICY_FILE", str(path))
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_policy_that_is_not_toml_is_named(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("version = ", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(path)


def test_policy_endpoint_shows_the_active_policy(operator_api):
    body = operator_api.get("/policy").json
    assert body["version"].startswith("2026.1+")
    assert body["windows"]["report_minutes"] == 15
    assert body["grades"]["1"] == {"respond_minutes": 120, "recover_minutes": 240}
    assert tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))["timezone"] == body["timezone"]
