"""A closed incident with one credited subscriber, for the ledger's security tests."""
from __future__ import annotations

from datetime import datetime

from app.auth.models import Role
from app.extensions import db
from app.incidents import service
from app.subscribers.models import Subscriber
from tests import factories

TECH_100 = [{"category": "technical", "sub_cause": "transmission_interruption", "party": "传输部", "share": 100}]


def close_with_one_subscriber(operator_api, manager_api, make_user, *, fee_fen: int, now: datetime) -> tuple[int, Subscriber]:
    """Declared 08:00, recovered 12:00 (+08:00) on 2026-11-23, technical 100 %, closed at ``now``:
    returns the subscriber's ledger entry id and the subscriber."""
    subscriber = factories.subscriber(fee_fen=fee_fen)
    incident = factories.declared(operator_api, title="杭州数据中断", detected_at="2026-11-23T08:00:00+08:00")
    path = f"/incidents/{incident['id']}"
    operator_api.post(path + "/report", json={"fault_type": "传输中断", "scope_summary": "杭州",
                                              "estimated_recovery_at": "2026-11-23T20:00:00+08:00"})
    operator_api.post(path + "/respond", json={"responder": "张伟"})
    operator_api.put(path + "/responsibility", json=TECH_100)
    assert operator_api.post(path + "/recover", json={"summary": "已恢复",
                                                      "recovered_at": "2026-11-23T12:00:00+08:00"}).status_code == 200
    reviewer, _ = make_user(Role.reviewer)
    service.mark_analysis_report_submitted(service.get_incident(incident["id"]), reviewer, now)
    db.session.commit()
    assert manager_api.post(path + "/close").status_code == 200
    return operator_api.get(path + "/compensation").json["items"][0]["entry_id"], subscriber
