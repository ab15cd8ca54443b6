"""The console: alert proposals on the board (declare / dismiss), and the formal-notice closure blocker."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from app.alerts import service as alerts
from app.auth.models import Role
from app.incidents import service as incidents
from tests.factories import recovered_major_incident, send_formal_notice

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)


def _firing(fingerprint: str, region: str = "hangzhou") -> dict:
    return {"status": "firing", "fingerprint": fingerprint, "labels": {"region": region, "service": "mobile-data"},
            "annotations": {"summary": f"{region} 基站退服"}, "startsAt": NOW - timedelta(minutes=20), "endsAt": None}


def test_the_closure_panel_names_and_links_the_unsent_formal_notice(browser_as, make_user):
    (operator, _), (manager, _), (reviewer, _) = (make_user(r) for r in (Role.operator, Role.duty_manager, Role.reviewer))
    detected = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
    incident_id = recovered_major_incident(operator, manager, reviewer, detected_at=detected)
    path = f"/incidents/{incident_id}"
    with freeze_time(detected + timedelta(hours=4)):
        manager = browser_as(Role.duty_manager)
        page = manager.get(path).get_data(as_text=True)
        assert 'href="#notices" class="blocker-formal-notice"' in page and "已发出的正式通知" in page
        refused = manager.post(f"{path}/close", {}, token_from=path, follow_redirects=True)
        assert "已发出的正式通知" in refused.get_data(as_text=True)
        assert incidents.get_incident(incident_id).status == "recovered"
        send_formal_notice(incident_id)
        assert "blocker-formal-notice" not in manager.get(path).get_data(as_text=True)
        manager.post(f"{path}/close", {}, token_from=path)
        assert incidents.get_incident(incident_id).status == "closed"


@freeze_time(NOW)
def test_proposals_show_on_the_board_and_are_declared_or_dismissed(browser_as):
    alerts.ingest([_firing("a"), _firing("b", region="ningbo")])
    operator = browser_as(Role.operator)
    board = operator.get("/incidents").get_data(as_text=True)
    assert 'id="proposals"' in board and "hangzhou 基站退服" in board and "ningbo 基站退服" in board
    assert "<script>" not in board.split('id="proposals"')[1].split("</section>")[0]
    [ningbo, hangzhou] = alerts.list_proposals_page("open")
    declared = operator.post(f"/alert-proposals/{hangzhou.id}/declare", {})
    assert declared.status_code == 302
    incident = incidents.get_incident(alerts.get_proposal(hangzhou.id).incident_id)
    assert declared.headers["Location"].endswith(f"/incidents/{incident.id}")
    assert incident.regions == ["杭州"] and incident.detected_at == NOW - timedelta(minutes=20)
    assert operator.post(f"/alert-proposals/{ningbo.id}/dismiss", {"dismiss-reason": ""}).status_code == 302
    assert alerts.get_proposal(ningbo.id).state == "open"  # a reason is required
    operator.post(f"/alert-proposals/{ningbo.id}/dismiss", {"dismiss-reason": "割接演练"})
    assert alerts.get_proposal(ningbo.id).state == "dismissed"
    assert "暂无待处理的告警提案" in operator.get("/incidents").get_data(as_text=True)


@freeze_time(NOW)
def test_proposal_buttons_follow_the_permissions_table(browser_as):
    alerts.ingest([_firing("a")])
    [proposal] = alerts.list_proposals_page("open")
    reviewer = browser_as(Role.reviewer)
    assert 'id="proposals"' not in reviewer.get("/incidents").get_data(as_text=True)
    assert reviewer.post(f"/alert-proposals/{proposal.id}/declare", {}).status_code == 403
    operator = browser_as(Role.operator)
    assert operator.post(f"/alert-proposals/{proposal.id}/declare", {}, with_token=False).status_code == 400
    assert alerts.get_proposal(proposal.id).state == "open"


@freeze_time(NOW)
def test_a_new_or_changed_proposal_moves_the_boards_live_version_but_a_repeat_does_not(browser_as):
    operator = browser_as(Role.operator)
    first = operator.get("/live/changes")
    etag = first.headers["ETag"]
    alerts.ingest([_firing("a")])
    opened = operator.get("/live/changes", headers={"If-None-Match": etag})
    assert opened.status_code == 200 and opened.json["board"] != first.json["board"]
    etag = opened.headers["ETag"]
    alerts.ingest([_firing("a")])  # a repeat of the same fingerprint
    assert operator.get("/live/changes", headers={"If-None-Match": etag}).status_code == 304
    alerts.ingest([{**_firing("a"), "status": "resolved", "endsAt": NOW}])
    assert operator.get("/live/changes", headers={"If-None-Match": etag}).status_code == 200
    board = operator.get("/incidents").get_data(as_text=True)
    assert 'data-live-region="board"' in board.split('id="proposals"')[0]
