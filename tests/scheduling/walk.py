"""Helpers to drive incidents through their deadlines with the clock frozen and moved."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.incidents.models import TimelineEvent
from app.staff.models import StaffAlert

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)  # 08:00 in Shanghai
SECONDS_POLICY = Path(__file__).with_name("policy_seconds.toml")
ESTIMATE = "2026-11-24T12:00:00+08:00"


def deadlines(api, incident_id: int) -> dict[str, dict]:
    response = api.get(f"/incidents/{incident_id}/deadlines")
    assert response.status_code == 200, response.json
    return {d["kind"]: d for d in response.json}


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def report(api, incident_id: int, *, acknowledged: bool = True):
    """上报 through the API; unless ``acknowledged`` is False the dispatch centre (a stub of the
    receiver) acknowledges it at once, which is what meets the report deadline (RULES §9)."""
    response = api.post(f"/incidents/{incident_id}/report",
                        json={"fault_type": "基站退服", "scope_summary": "西湖区", "estimated_recovery_at": ESTIMATE})
    assert response.status_code == 200, response.json
    if acknowledged:
        from tests.factories import dispatch_acknowledges

        dispatch_acknowledges(incident_id)
    return response.json


def respond(api, incident_id: int, emergency: bool):
    response = api.post(f"/incidents/{incident_id}/respond", json={"responder": "张伟", "emergency_response": emergency})
    assert response.status_code == 200, response.json
    return response.json


def recover(api, incident_id: int, recovered_at: datetime | None = None):
    body = {"summary": "更换主控板后恢复"}
    if recovered_at is not None:
        body["recovered_at"] = recovered_at.isoformat()
    response = api.post(f"/incidents/{incident_id}/recover", json=body)
    assert response.status_code == 200, response.json
    return response.json


def timeline_kinds(incident_id: int, kind: str) -> list[TimelineEvent]:
    return list(db.session.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id,
                                                               TimelineEvent.kind == kind)))


def alerts(kind: str | None = None) -> list[StaffAlert]:
    query = select(StaffAlert).order_by(StaffAlert.id)
    if kind:
        query = query.where(StaffAlert.kind == kind)
    return list(db.session.scalars(query))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
