"""Building emergency plans through the API, for the plan and drill tests."""
from __future__ import annotations

from datetime import date


def plan_body(owner_id: int, **overrides) -> dict:
    return {"title": "移动数据大面积中断应急预案", "summary": "核心网与无线网联动处置", "services": ["mobile_data"],
            "regions": ["杭州"], "owner_id": owner_id, "review_due_on": "2027-03-01", **overrides}


def create_plan(api, owner_id: int, expect: int = 201, **overrides) -> dict:
    body = plan_body(owner_id, **overrides)
    body = {k: v.isoformat() if isinstance(v, date) else v for k, v in body.items()}
    response = api.post("/plans", json=body)
    assert response.status_code == expect, response.json
    return response.json
