"""RULES §9: a major incident is not closed, nor its report approved, while its formal notice is unsent."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from app.auth.models import Role
from tests.factories import recovered_major_incident, send_formal_notice

DETECTED = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def people(make_user):
    return {role: make_user(role) for role in (Role.operator, Role.duty_manager, Role.reviewer)}


@pytest.fixture
def incident_id(people):
    (operator, _), (manager, _), (reviewer, _) = people.values()
    return recovered_major_incident(operator, manager, reviewer, detected_at=DETECTED)


def _api(client, token):
    return lambda method, path, **kw: getattr(client, method)(
        f"/api/v1/incidents/{path}", headers={"Authorization": f"Bearer {token}"}, **kw)


def test_close_and_approval_wait_for_the_formal_notice(client, people, incident_id):
    manager = _api(client, people[Role.duty_manager][1])
    reviewer = _api(client, people[Role.reviewer][1])
    with freeze_time(DETECTED + timedelta(hours=4)):
        refused = manager("post", f"{incident_id}/close")
        assert refused.status_code == 409 and refused.json["missing"] == ["formal_notice"]
        refused = reviewer("post", f"{incident_id}/analysis-report/approve")
        assert refused.status_code == 409 and refused.json["missing"] == ["formal_notice"]
        assert manager("get", str(incident_id)).json["status"] == "recovered"
        send_formal_notice(incident_id)
        assert reviewer("post", f"{incident_id}/analysis-report/approve").status_code == 200
        assert manager("post", f"{incident_id}/close").status_code == 200


def test_a_queued_but_unsent_formal_notice_still_blocks(client, people, incident_id, app_ctx):
    from app.notify import service as notices
    from tests.factories import subscribers

    manager = _api(client, people[Role.duty_manager][1])
    with freeze_time(DETECTED + timedelta(hours=4)):
        subscribers(["+8613800000001", "+8613800000002"])
        notices.queue_by_operator(incident_id, "formal", "主控板故障")
        refused = manager("post", f"{incident_id}/close")
        assert refused.status_code == 409 and "formal_notice" in refused.json["missing"]


def test_a_late_formal_notice_counts_as_sent(client, people, incident_id):
    manager = _api(client, people[Role.duty_manager][1])
    with freeze_time(DETECTED + timedelta(hours=9)):  # 4 h window from recovery at 3 h: breached
        send_formal_notice(incident_id)
        deadline = next(d for d in manager("get", f"{incident_id}/deadlines").json if d["kind"] == "formal_notice")
        assert deadline["state"] == "breached" and deadline["met_at"]
        assert manager("post", f"{incident_id}/close").status_code == 200
