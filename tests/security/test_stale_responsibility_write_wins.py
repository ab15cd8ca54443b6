"""Issue 14 Low: two concurrent PUT /incidents/{id}/responsibility — the last write silently
won. GET gives the incident's row_version as its ETag; a PUT with a stale If-Match is 409
naming row_version, and changes nothing. Without If-Match a PUT works as before."""
from __future__ import annotations

import pytest

TECH = [{"category": "technical", "sub_cause": "equipment_failure", "party": "传输部", "share": 100}]
EXTERNAL = [{"category": "external", "sub_cause": "power_outage", "party": "电力公司", "share": 100}]


@pytest.fixture
def incident_path(operator_api):
    incident = operator_api.post("/incidents", json={"title": "宁波宽带中断", "services": ["broadband"],
                                                     "regions": ["宁波"]}).json
    return f"/incidents/{incident['id']}"


def test_a_stale_if_match_is_409_naming_row_version(operator_api, manager_api, incident_path):
    seen = operator_api.get(incident_path)
    etag = seen.headers["ETag"]
    assert etag == f'"{seen.json["row_version"]}"'
    # the duty manager, who read the same version, writes first
    first = manager_api.put(incident_path + "/responsibility", json=TECH, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] != etag

    stale = operator_api.put(incident_path + "/responsibility", json=EXTERNAL, headers={"If-Match": etag})

    assert stale.status_code == 409, stale.json
    assert stale.json["row_version"] == first.json["row_version"] and "row_version" in stale.json["message"]
    assert operator_api.get(incident_path).json["responsibility"][0]["category"] == "technical"  # nothing changed
    fresh = operator_api.put(incident_path + "/responsibility", json=EXTERNAL, headers={"If-Match": first.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.json["responsibility"][0]["category"] == "external"


def test_weak_and_star_tags_and_no_tag(operator_api, incident_path):
    version = operator_api.get(incident_path).json["row_version"]
    assert operator_api.put(incident_path + "/responsibility", json=TECH,
                            headers={"If-Match": f'W/"{version}"'}).status_code == 200
    assert operator_api.put(incident_path + "/responsibility", json=EXTERNAL, headers={"If-Match": "*"}).status_code == 200
    assert operator_api.put(incident_path + "/responsibility", json=TECH).status_code == 200  # as before
    bad = operator_api.put(incident_path + "/responsibility", json=TECH, headers={"If-Match": '"abc"'})
    assert bad.status_code == 422 and "If-Match" in bad.json["message"]
