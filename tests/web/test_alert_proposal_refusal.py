"""The console's refusal of a second decision on an alert proposal names who decided and when."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from app.alerts import service as alerts
from app.auth.models import Role
from app.extensions import db
from app.incidents.models import Incident

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)


def _firing(fingerprint: str) -> dict:
    return {"status": "firing", "fingerprint": fingerprint, "labels": {"region": "hangzhou", "service": "mobile-data"},
            "annotations": {"summary": "hangzhou 基站退服"}, "startsAt": NOW - timedelta(minutes=20), "endsAt": None}


@freeze_time(NOW)
def test_the_console_refusal_says_who_declared_and_when(browser_as):
    alerts.ingest([_firing("a")])
    [proposal] = alerts.list_proposals_page("open")
    first = browser_as(Role.operator)
    first.post(f"/alert-proposals/{proposal.id}/declare", {})
    declared = alerts.get_proposal(proposal.id)
    number = db.session.get(Incident, declared.incident_id).number
    second = browser_as(Role.duty_manager)
    refused = second.post(f"/alert-proposals/{proposal.id}/dismiss", {"dismiss-reason": "误报"}, follow_redirects=True)
    page = refused.get_data(as_text=True)
    assert f"告警提案 #{proposal.id} 已由" in page and "于 2026-11-23 08:30 登记为故障" in page and number in page
    assert "当前状态" not in page                                   # not the incident lifecycle's wording
    assert alerts.get_proposal(proposal.id).state == "declared"
