"""Alarms in (RULES §9): Alertmanager and Grafana payloads become incident proposals."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time

from app.auth.models import Role

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)
WEBHOOK = "/alerts/alertmanager"


def alert(fingerprint, *, status="firing", region="hangzhou", service="mobile-data", starts="2026-11-23T00:05:00Z",
          ends="0001-01-01T00:00:00Z", summary="杭州移动数据基站退服", **labels):
    return {"status": status, "fingerprint": fingerprint, "startsAt": starts, "endsAt": ends,
            "labels": {"alertname": "BaseStationDown", "region": region, "service": service, **labels},
            "annotations": {"summary": summary}, "generatorURL": "http://prometheus.local/graph"}


def alertmanager(*alerts):
    """A Prometheus Alertmanager webhook, version 4."""
    return {"version": "4", "groupKey": "{}:{alertname=\"BaseStationDown\"}", "truncatedAlerts": 0,
            "status": "firing", "receiver": "noc", "groupLabels": {"alertname": "BaseStationDown"},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager.local", "alerts": list(alerts)}


def grafana(*alerts):
    """A Grafana unified-alerting webhook: the same alerts[] with Grafana's extras."""
    return {"receiver": "noc", "status": "firing", "orgId": 1, "version": "1", "title": "[FIRING:1]",
            "state": "alerting", "message": "…", "groupKey": "{}", "truncatedAlerts": 0,
            "alerts": [{**a, "values": {"B": 1.0}, "silenceURL": "http://grafana.local", "dashboardURL": ""} for a in alerts]}


@pytest.fixture
def integration(api_as):
    return api_as(Role.integration)


def proposals(api, **query):
    answer = api.get("/alerts", query_string=query)
    assert answer.status_code == 200, answer.json
    return answer.json["items"]


@freeze_time(NOW)
@pytest.mark.parametrize("payload", [alertmanager, grafana], ids=["alertmanager", "grafana"])
def test_a_firing_alert_opens_a_mapped_proposal(integration, operator_api, payload):
    answer = integration.post(WEBHOOK, json=payload(alert("fp1", starts="2026-11-23T00:05:00.123456789Z")))
    assert answer.status_code == 202, answer.json
    assert answer.json["accepted"] == 1
    [proposal] = proposals(operator_api)
    assert proposal["state"] == "open" and proposal["unmapped"] is False
    assert proposal["services"] == ["mobile_data"] and proposal["regions"] == ["杭州"]
    assert proposal["title"] == "杭州移动数据基站退服"
    assert proposal["first_started_at"] == "2026-11-23T00:05:00.123456+00:00"
    assert proposal["alert_count"] == proposal["firing_count"] == 1


@freeze_time(NOW)
def test_repeats_deduplicate_by_fingerprint(integration, operator_api):
    for _ in range(3):
        assert integration.post(WEBHOOK, json=alertmanager(alert("fp1"), alert("fp1"))).status_code == 202
    [proposal] = proposals(operator_api)
    assert proposal["alert_count"] == 1


@freeze_time(NOW)
def test_a_storm_groups_into_a_handful_of_proposals(integration, operator_api):
    regions, services = ["hangzhou", "ningbo"], ["mobile-data", "broadband"]
    for batch in range(10):
        alerts = [alert(f"fp-{batch}-{i}", region=regions[i % 2], service=services[(i // 2) % 2], instance=f"bs{i}")
                  for i in range(100)]
        assert integration.post(WEBHOOK, json=alertmanager(*alerts)).status_code == 202
    found = proposals(operator_api)
    assert len(found) == 4
    assert sum(p["alert_count"] for p in found) == 1000
    assert {(tuple(p["regions"]), tuple(p["services"])) for p in found} == {
        (("宁波",), ("broadband",)), (("宁波",), ("mobile_data",)), (("杭州",), ("broadband",)), (("杭州",), ("mobile_data",))}


@freeze_time(NOW)
def test_unknown_labels_keep_the_alert_and_flag_the_proposal(integration, operator_api):
    assert integration.post(WEBHOOK, json=alertmanager(alert("fp1", region="atlantis"))).status_code == 202
    [proposal] = proposals(operator_api)
    assert proposal["unmapped"] is True and proposal["regions"] == [] and proposal["alert_count"] == 1
    refused = operator_api.post(f"/alerts/{proposal['id']}/declare", json={})
    assert refused.status_code == 422 and "regions" in refused.json["errors"]["json"]
    declared = operator_api.post(f"/alerts/{proposal['id']}/declare", json={"regions": ["杭州"]})
    assert declared.status_code == 201, declared.json


def test_a_group_quiet_beyond_the_window_opens_a_new_proposal(integration, operator_api):
    with freeze_time(NOW):
        integration.post(WEBHOOK, json=alertmanager(alert("fp1")))
    with freeze_time("2026-11-23T00:45:00Z"):
        integration.post(WEBHOOK, json=alertmanager(alert("fp2")))
        assert len(proposals(operator_api)) == 1
    with freeze_time("2026-11-23T01:30:00Z"):
        integration.post(WEBHOOK, json=alertmanager(alert("fp3")))
        assert [p["alert_count"] for p in proposals(operator_api)] == [1, 2]


@freeze_time(NOW)
def test_resolved_alerts_are_recorded_and_suggested_as_recovery_once_declared(integration, operator_api):
    integration.post(WEBHOOK, json=alertmanager(alert("fp1"), alert("fp2", instance="b")))
    [proposal] = proposals(operator_api)
    declared = operator_api.post(f"/alerts/{proposal['id']}/declare", json={})
    assert declared.status_code == 201 and declared.json["suggested_recovered_at"] is None
    integration.post(WEBHOOK, json=alertmanager(alert("fp1", status="resolved", ends="2026-11-23T00:20:00Z")))
    [proposal] = proposals(operator_api)
    assert proposal["firing_count"] == 1 and proposal["suggested_recovered_at"] is None
    integration.post(WEBHOOK, json=alertmanager(alert("fp2", status="resolved", ends="2026-11-23T00:25:00Z", instance="b")))
    [proposal] = proposals(operator_api)
    assert proposal["firing_count"] == 0
    assert proposal["suggested_recovered_at"] == "2026-11-23T00:25:00+00:00"
    incident = operator_api.get(f"/incidents/{proposal['incident_id']}").json
    assert incident["status"] == "declared" and incident.get("recovered_at") is None  # shown, not applied


@freeze_time(NOW)
def test_a_resolved_alert_of_no_proposal_is_ignored(integration, operator_api):
    answer = integration.post(WEBHOOK, json=alertmanager(alert("fp9", status="resolved", ends="2026-11-23T00:20:00Z")))
    assert answer.json["ignored"] == 1 and proposals(operator_api) == []


@freeze_time(NOW)
def test_declare_prefills_the_incident_and_only_once(integration, operator_api):
    integration.post(WEBHOOK, json=alertmanager(alert("fp1", starts="2026-11-23T00:10:00Z"),
                                               alert("fp2", starts="2026-11-23T00:05:00Z", instance="b")))
    [proposal] = proposals(operator_api)
    declared = operator_api.post(f"/alerts/{proposal['id']}/declare", json={})
    assert declared.status_code == 201, declared.json
    assert declared.json["state"] == "declared" and declared.json["incident_id"]
    incident = operator_api.get(f"/incidents/{declared.json['incident_id']}").json
    assert incident["title"] == "杭州移动数据基站退服"
    assert incident["services"] == ["mobile_data"] and incident["regions"] == ["杭州"]
    assert incident["detected_at"] == "2026-11-23T00:05:00+00:00"
    again = operator_api.post(f"/alerts/{proposal['id']}/declare", json={})
    assert again.status_code == 409
    assert operator_api.post(f"/alerts/{proposal['id']}/dismiss", json={"reason": "误报"}).status_code == 409


@freeze_time(NOW)
def test_declare_overrides_win(integration, operator_api):
    integration.post(WEBHOOK, json=alertmanager(alert("fp1")))
    [proposal] = proposals(operator_api)
    declared = operator_api.post(f"/alerts/{proposal['id']}/declare", json={"title": "宁波宽带中断", "regions": ["宁波"]})
    incident = operator_api.get(f"/incidents/{declared.json['incident_id']}").json
    assert incident["title"] == "宁波宽带中断" and incident["regions"] == ["宁波"]


@freeze_time(NOW)
def test_dismiss_needs_a_reason_and_later_alerts_open_a_new_proposal(integration, operator_api):
    integration.post(WEBHOOK, json=alertmanager(alert("fp1")))
    [proposal] = proposals(operator_api)
    assert operator_api.post(f"/alerts/{proposal['id']}/dismiss", json={}).status_code == 422
    dismissed = operator_api.post(f"/alerts/{proposal['id']}/dismiss", json={"reason": "演练告警"})
    assert dismissed.status_code == 200 and dismissed.json["dismiss_reason"] == "演练告警"
    assert operator_api.post(f"/alerts/{proposal['id']}/declare", json={}).status_code == 409
    integration.post(WEBHOOK, json=alertmanager(alert("fp2")))
    assert [p["state"] for p in proposals(operator_api)] == ["open", "dismissed"]
    assert [p["state"] for p in proposals(operator_api, state="dismissed")] == ["dismissed"]


@freeze_time(NOW)
@pytest.mark.parametrize("bad, field", [
    ({"alerts": [{**alert("fp1"), "status": "burning"}]}, "status"),
    ({"alerts": [{k: v for k, v in alert("fp1").items() if k != "fingerprint"}]}, "fingerprint"),
    ({"alerts": [{**alert("fp1"), "startsAt": "yesterday"}]}, "startsAt"),
    ({"alerts": [{**alert("fp1"), "labels": "region=hz"}]}, "labels"),
])
def test_bad_payloads_are_refused_naming_the_field_and_change_nothing(integration, operator_api, bad, field):
    answer = integration.post(WEBHOOK, json=bad)
    assert answer.status_code == 422
    assert field in answer.json["errors"]["json"]["alerts"]["0"]
    assert proposals(operator_api) == []


def test_a_payload_without_alerts_is_refused(integration):
    answer = integration.post(WEBHOOK, json={"version": "4"})
    assert answer.status_code == 422 and "alerts" in answer.json["errors"]["json"]


def test_roles(integration, operator_api, api_as):
    assert operator_api.post(WEBHOOK, json=alertmanager(alert("fp1"))).status_code == 403
    assert integration.get("/incidents").status_code == 403
    assert integration.get("/alerts").status_code == 403
    assert api_as(Role.reviewer).get("/alerts").status_code == 403
    assert api_as(Role.duty_manager).get("/alerts").status_code == 200
