"""Every complaint path API.md names is served and documented."""
from __future__ import annotations


def test_openapi_names_every_complaint_path(client):
    paths = set(client.get("/api/openapi.json").json["paths"])
    for suffix in ("", "/{complaint_id}", "/{complaint_id}/timeline", "/{complaint_id}/deadlines",
                   "/{complaint_id}/assign", "/{complaint_id}/investigate", "/{complaint_id}/feedback",
                   "/{complaint_id}/follow-up", "/{complaint_id}/close", "/{complaint_id}/appeal",
                   "/{complaint_id}/appeal/review", "/summary"):
        assert f"/api/v1/complaints{suffix}" in paths, suffix
