"""A path id past the column's range is simply not found (404), never a 500 that, on PostgreSQL,
also poisons the rest of the transaction (found by the API fuzz test)."""
from __future__ import annotations


def test_ids_past_the_column_range_are_not_found(app_ctx, operator_api, manager_api):
    incident = operator_api.post("/incidents", json={"title": "t", "services": ["mobile_data"], "regions": ["杭州"]}).json
    huge = 2**64
    assert operator_api.get(f"/compensation/{huge}").status_code == 404
    assert manager_api.post(f"/compensation/{huge}/approve", json={}).status_code == 404
    patched = operator_api.patch(f"/incidents/{incident['id']}/rectifications/{2**40}", json={"title": "x"})
    assert patched.status_code == 404
    # and the session is still usable afterwards
    assert operator_api.get(f"/incidents/{incident['id']}").status_code == 200
