"""A fully worked incident for the report tests.

Every domain is the real one: the worked incident's deadlines, credits and notices are
whatever scheduling, the compensation engine and the notifier make of it.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from tests import factories
from tests.reports.worked import DECLARED, DETECTED, RECOVERED, REPORTED, RESPONDED


# The three subscribers in scope pay different fees so a wrong per-subscriber formula shows.
IN_SCOPE_FEES_FEN = {"+8613800000001": 5800, "+8613800000002": 12800, "+8613800000003": 29900}


def walk_worked_incident(operator_api, *, after_report=None, after_recovery=None) -> int:
    """Declared (back-dated), reported late, responded late to emergency, recovered.

    ``after_report`` / ``after_recovery`` (incident id → None) run between the steps: the
    notices the report and the recovery queue are sent there, at their own frozen times.
    """
    with freeze_time(DECLARED):
        incident_id = factories.declared(operator_api, description="西湖区多个基站退服", detected_at=DETECTED,
                                         major=True, major_reason="涉及医院与应急通信")["id"]
    path = f"/incidents/{incident_id}"
    with freeze_time(REPORTED):
        r = operator_api.post(path + "/report", json={"fault_type": "基站退服", "scope_summary": "杭州西湖区三个基站",
                                                      "estimated_recovery_at": (DETECTED + timedelta(hours=4)).isoformat()})
        assert r.status_code == 200, r.json
        factories.dispatch_acknowledges(incident_id)   # the dispatch centre's acknowledgement meets the window
    if after_report:
        after_report(incident_id)
    with freeze_time(RESPONDED):
        r = operator_api.post(path + "/respond", json={"responder": "张伟", "emergency_response": True})
        assert r.status_code == 200, r.json
        r = operator_api.post(path + "/updates", json={"message": "已派出抢修队，携带备用主控板", "notify_subscribers": False})
        assert r.status_code == 201, r.json
    with freeze_time(RECOVERED):
        r = operator_api.put(path + "/responsibility", json=[
            {"category": "technical", "sub_cause": "equipment_failure", "party": "网络部", "share": 70},
            {"category": "external", "sub_cause": "power_outage", "party": "市电力公司", "share": 30},
        ])
        assert r.status_code == 200, r.json
        r = operator_api.post(path + "/recover", json={"summary": "更换主控板后恢复"})
        assert r.status_code == 200, r.json
    if after_recovery:
        after_recovery(incident_id)
    return incident_id


def add_in_scope_subscribers() -> None:
    for phone, fee_fen in IN_SCOPE_FEES_FEN.items():
        factories.subscriber(phone, fee_fen=fee_fen, name="用户")
    factories.subscriber("+8613800000009", region="宁波", name="用户")  # outside the scope


@pytest.fixture
def worked_incident(app_ctx, operator_api, manager_api):
    """The worked incident with 3 subscribers hit; its notices are queued but nobody sends them."""
    add_in_scope_subscribers()
    return walk_worked_incident(operator_api)
