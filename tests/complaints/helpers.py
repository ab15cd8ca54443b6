"""Building complaints through the API, for the complaint tests."""
from __future__ import annotations

from datetime import datetime, timezone

from tests import factories

SUBSCRIBER_PHONE = "+8613900139000"
STRANGER_PHONE = "+8613700137000"


def subscriber(phone: str = SUBSCRIBER_PHONE, region: str = "杭州", services=("mobile_data",)):
    return factories.subscriber(phone, name="李娜", region=region, services=services)


def register(api, expect: int = 201, **overrides):
    body = {"phone": SUBSCRIBER_PHONE, "name": "李娜", "channel": "phone", "category": "billing", "grade": 1,
            "content": "本月账单多扣了 20 元", **overrides}
    for key, value in list(body.items()):
        if isinstance(value, datetime):
            body[key] = value.isoformat()
    response = api.post("/complaints", json=body)
    assert response.status_code == expect, response.json
    return response.json


def deadlines(api, complaint_id: int) -> dict[str, dict]:
    response = api.get(f"/complaints/{complaint_id}/deadlines")
    assert response.status_code == 200, response.json
    return {d["kind"]: d for d in response.json}


def act(api, complaint_id: int, action: str, expect: int = 200, **body):
    response = api.post(f"/complaints/{complaint_id}/{action}", json=body)
    assert response.status_code == expect, response.json
    return response.json


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(timezone.utc) if value else None
