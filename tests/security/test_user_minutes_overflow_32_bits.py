"""Issue 14 High 2: recovery was refused (422) once affected × minutes passed 2³¹, because
``user_minutes_at_recovery`` was a 32-bit column. 1,000,000 subscribers down 40 hours is
2,400,000,000 user-minutes; it must be recovered and reported exactly."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from freezegun import freeze_time

from app.extensions import db
from app.incidents.models import Incident

SUBSCRIBERS = 1_000_000
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)
DETECTED = "2026-11-24T08:00:00+08:00"     # 00:00 UTC: 40 h before NOW


def _add_opted_out_subscribers(count: int) -> None:
    """Set-based: one INSERT … SELECT over a generated series. Opted out, so recovery queues no SMS."""
    if db.engine.dialect.name == "postgresql":
        series = "SELECT n FROM generate_series(1, :count) AS n"
    else:
        series = ("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count) "
                  "SELECT n FROM seq")
    db.session.execute(sa.text(
        "INSERT INTO subscribers (phone, name, region, monthly_fee_fen, language, opted_out_at, opted_out_source,"
        " created_at, updated_at) "
        f"SELECT '+8613' || CAST(100000000 + n AS VARCHAR(12)), '', '杭州', 100, 'zh-CN', :now, 'test', :now, :now "
        f"FROM ({series}) AS numbers"
    ), {"count": count, "now": NOW.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else NOW})
    db.session.commit()


@freeze_time(NOW)
def test_a_million_subscribers_down_forty_hours_can_be_recovered(app_ctx, operator_api):
    _add_opted_out_subscribers(SUBSCRIBERS)
    incident = operator_api.post("/incidents", json={"title": "全网中断", "services": ["全业务"], "regions": ["全网"],
                                                     "detected_at": DETECTED}).json
    path = f"/incidents/{incident['id']}"
    assert operator_api.post(path + "/report", json={"fault_type": "核心网故障", "scope_summary": "全网",
                                                     "estimated_recovery_at": "2026-11-26T08:00:00+08:00"}).status_code == 200
    assert operator_api.post(path + "/respond", json={"responder": "张伟", "emergency_response": True}).status_code == 200

    recovered = operator_api.post(path + "/recover", json={"summary": "已恢复"})

    assert recovered.status_code == 200, recovered.json
    assert recovered.json["affected_subscribers"] == SUBSCRIBERS
    assert recovered.json["user_minutes"] == SUBSCRIBERS * 40 * 60 == 2_400_000_000
    db.session.expire_all()
    stored = db.session.get(Incident, incident["id"])
    assert stored.user_minutes_at_recovery == 2_400_000_000
