"""Issue 14 High 1: a duty manager approved their own dispute (1,000,000.00 CNY on a
100 CNY/month plan). Whoever proposes an adjusted plan may not approve or reject it; a
reviewer who submitted the analysis report may not approve it; and a plan above the
policy's cap needs a second, different duty manager."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from app.auth.models import Role
from app.compensation.models import CompensationVersion
from app.extensions import db
from app.policy import parse_policy
from tests.security.closed_incident import close_with_one_subscriber

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
FEE_FEN = 10000  # 100 CNY a month: the default cap (3 months of fee) is 300.00 CNY


def _closed_incident(operator_api, manager_api, make_user) -> int:
    return close_with_one_subscriber(operator_api, manager_api, make_user, fee_fen=FEE_FEN, now=NOW)[0]


def _versions():
    db.session.expire_all()
    return db.session.execute(sa.select(CompensationVersion.version, CompensationVersion.status,
                                        CompensationVersion.first_approved_by, CompensationVersion.decided_by)).all()


@freeze_time(NOW)
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_proposer_may_not_decide_on_their_own_plan(operator_api, manager_api, make_user, decision):
    entry_id = _closed_incident(operator_api, manager_api, make_user)
    body = {"reason": "r", "economic_credit": "5.00", "data_credit_gb": 5}
    assert manager_api.post(f"/compensation/{entry_id}/dispute", json=body).status_code == 201
    before = _versions()

    response = manager_api.post(f"/compensation/{entry_id}/{decision}", json={})

    assert response.status_code == 403, response.json
    assert "proposed" in response.json["message"] and response.json["proposed_by"]
    assert _versions() == before  # nothing changed
    # another duty manager may
    other = make_user(Role.duty_manager)[1]
    from tests.conftest import ApiClient
    assert ApiClient(operator_api.client, other).post(f"/compensation/{entry_id}/{decision}", json={}).status_code == 200


@freeze_time(NOW)
def test_a_plan_above_the_cap_needs_a_second_different_duty_manager(operator_api, manager_api, api_as, make_user):
    entry_id = _closed_incident(operator_api, manager_api, make_user)
    second = api_as(Role.duty_manager)
    huge = {"reason": "用户要求高额补偿", "economic_credit": "1000000.00", "data_credit_gb": 5}
    proposed = operator_api.post(f"/compensation/{entry_id}/dispute", json=huge)
    assert proposed.status_code == 201
    assert proposed.json["versions"][-1]["second_approval_required"] is True

    first = manager_api.post(f"/compensation/{entry_id}/approve", json={"note": "同意"})
    assert first.status_code == 200, first.json
    assert first.json["current_version"] == 1 and first.json["economic_credit"] != "1000000.00"
    assert first.json["versions"][-1]["status"] == "proposed"
    assert first.json["versions"][-1]["first_approved_at"] is not None
    # the same duty manager cannot give the second approval
    again = manager_api.post(f"/compensation/{entry_id}/approve", json={})
    assert again.status_code == 403 and "second" in again.json["message"]
    assert _versions()[-1][1] == "proposed"

    confirmed = second.post(f"/compensation/{entry_id}/approve", json={"note": "复核同意"})
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["current_version"] == 2 and confirmed.json["economic_credit"] == "1000000.00"
    kinds = [e["kind"] for e in operator_api.get(f"/incidents/{first.json['incident_id']}/timeline").json]
    assert kinds[-2:] == ["compensation_adjustment_first_approved", "compensation_adjustment_approved"]


@freeze_time(NOW)
def test_data_above_the_cap_also_needs_a_second_approval_and_within_it_one_suffices(operator_api, manager_api, make_user):
    entry_id = _closed_incident(operator_api, manager_api, make_user)
    within = operator_api.post(f"/compensation/{entry_id}/dispute",
                               json={"reason": "r", "economic_credit": "300.00", "data_credit_gb": 20}).json
    assert within["versions"][-1]["second_approval_required"] is False
    assert manager_api.post(f"/compensation/{entry_id}/approve", json={}).json["current_version"] == 2
    data = operator_api.post(f"/compensation/{entry_id}/dispute",
                             json={"reason": "r", "economic_credit": "1.00", "data_credit_gb": 21}).json
    assert data["versions"][-1]["second_approval_required"] is True
    assert manager_api.post(f"/compensation/{entry_id}/approve", json={}).json["current_version"] == 2


def test_the_cap_keys_are_validated(app_ctx):
    from app.policy import PolicyError, load_policy
    import tomllib
    from app.config import DEFAULT_POLICY_PATH

    raw = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    assert raw["compensation"]["max_adjusted_credit_months_of_fee"] == 3
    assert raw["compensation"]["max_adjusted_data_credit_gb"] == 20
    for key, bad in [("max_adjusted_credit_months_of_fee", -1), ("max_adjusted_credit_months_of_fee", "3"),
                     ("max_adjusted_data_credit_gb", -5)]:
        with pytest.raises(PolicyError, match=key):
            parse_policy({**raw, "compensation": {**raw["compensation"], key: bad}})
    assert load_policy(DEFAULT_POLICY_PATH).compensation["max_adjusted_credit_months_of_fee"] == 3


@freeze_time(NOW)
def test_the_reviewer_who_submitted_the_report_may_not_approve_it(operator_api, api_as):
    incident = operator_api.post("/incidents", json={"title": "宁波宽带中断", "services": ["broadband"],
                                                     "regions": ["宁波"], "detected_at": "2026-11-23T16:00:00+08:00"}).json
    path = f"/incidents/{incident['id']}"
    operator_api.post(path + "/report", json={"fault_type": "光缆中断", "scope_summary": "宁波",
                                              "estimated_recovery_at": "2026-11-23T20:00:00+08:00"})
    operator_api.post(path + "/respond", json={"responder": "李娜"})
    assert operator_api.post(path + "/recover", json={"summary": "熔接完成"}).status_code == 200
    reviewer = api_as(Role.reviewer)
    report = path + "/analysis-report"
    reviewer.put(report, json={"preventive_measures": "光缆双路由"})
    assert reviewer.post(report + "/submit").status_code == 200

    refused = reviewer.post(report + "/approve")

    assert refused.status_code == 403 and "submitted" in refused.json["message"]
    assert reviewer.get(report).json["state"] == "submitted"
    assert api_as(Role.reviewer).post(report + "/approve").json["state"] == "approved"
