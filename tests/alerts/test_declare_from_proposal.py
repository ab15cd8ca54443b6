"""Declaring from an alert proposal is one unit of work, and a second decision is refused naming who
decided and when (API and console)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import event, func, select

from app.alerts import service as alerts
from app.extensions import db
from app.incidents.models import Incident

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)


def _firing(fingerprint: str, region: str = "hangzhou") -> dict:
    return {"status": "firing", "fingerprint": fingerprint, "labels": {"region": region, "service": "mobile-data"},
            "annotations": {"summary": f"{region} 基站退服"}, "startsAt": NOW - timedelta(minutes=20), "endsAt": None}


def _incidents() -> int:
    return db.session.scalar(select(func.count()).select_from(Incident))


@freeze_time(NOW)
def test_declaring_commits_once(operator_api):
    alerts.ingest([_firing("a")])
    [proposal] = alerts.list_proposals_page("open")
    commits = []
    listener = lambda _session: commits.append(1)   # noqa: E731
    event.listen(db.session.registry(), "after_commit", listener)
    try:
        answer = operator_api.post(f"/alerts/{proposal.id}/declare", json={})
    finally:
        event.remove(db.session.registry(), "after_commit", listener)
    assert answer.status_code == 201, answer.json
    assert len(commits) == 1


@freeze_time(NOW)
def test_a_crash_before_the_link_leaves_neither_incident_nor_decision(operator_api, monkeypatch):
    alerts.ingest([_firing("a")])
    [proposal] = alerts.list_proposals_page("open")

    def crash(*_args, **_kwargs):
        raise RuntimeError("process killed between the incident and its link")

    monkeypatch.setattr(alerts, "_link", crash)
    with pytest.raises(RuntimeError):
        operator_api.post(f"/alerts/{proposal.id}/declare", json={})
    db.session.rollback()
    assert _incidents() == 0
    assert alerts.get_proposal(proposal.id).state == "open" and alerts.get_proposal(proposal.id).decided_by is None
    monkeypatch.undo()
    assert operator_api.post(f"/alerts/{proposal.id}/declare", json={}).status_code == 201
    assert _incidents() == 1


@freeze_time(NOW)
def test_a_second_declare_is_refused_naming_who_and_when(operator_api):
    alerts.ingest([_firing("a")])
    [proposal] = alerts.list_proposals_page("open")
    first = operator_api.post(f"/alerts/{proposal.id}/declare", json={})
    assert first.status_code == 201
    again = operator_api.post(f"/alerts/{proposal.id}/declare", json={})
    assert again.status_code == 409
    decided_by = db.session.get(Incident, first.json["incident_id"]).created_by
    assert again.json["decided_by"] and again.json["decided_at"] == NOW.isoformat()
    assert "2026-11-23 08:30" in again.json["message"]           # Asia/Shanghai
    assert again.json["decided_by"] in again.json["message"] and "登记为故障" in again.json["message"]
    assert decided_by is not None and _incidents() == 1
