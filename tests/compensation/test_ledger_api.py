"""Closing an incident writes the final ledger in the same transaction (its notices follow); the API reads,
exports, disputes and approves it; nothing is ever overwritten."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from app.auth.models import Role
from app.compensation import followup
from app.compensation.models import CompensationEntry, CompensationLedger, CompensationVersion
from app.extensions import db
from app.incidents import service

DETECTED = "2026-11-23T08:00:00+08:00"          # 00:00 UTC
RECOVERED = "2026-11-23T17:05:00+08:00"         # 545 min later: level 2 window (480) breached
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
from tests import factories


@pytest.fixture
def people(app_ctx):
    a = factories.subscriber(fee_fen=5800, services=["mobile_data"])
    b = factories.subscriber(fee_fen=12800, services=["fixed_voice"])
    factories.subscriber(fee_fen=9900, services=["mobile_data"], region="宁波")
    db.session.commit()
    return a.id, b.id


def _declare_to_recovered(api, shares, recovered_at=RECOVERED):
    incident = factories.declared(api, title="杭州数据与固话中断", services=["mobile_data", "fixed_voice"],
                                  detected_at=DETECTED)
    path = f"/incidents/{incident['id']}"
    assert api.post(path + "/report", json={"fault_type": "传输中断", "scope_summary": "杭州",
                                            "estimated_recovery_at": "2026-11-23T20:00:00+08:00"}).status_code == 200
    assert api.post(path + "/respond", json={"responder": "张伟"}).status_code == 200
    assert api.put(path + "/responsibility", json=shares).status_code == 200
    if recovered_at:
        assert api.post(path + "/recover", json={"summary": "已恢复", "recovered_at": recovered_at}).status_code == 200
    return incident["id"], path


def _submit_report(make_user, incident_id):
    reviewer, _ = make_user(Role.reviewer)
    incident = service.get_incident(incident_id)
    service.mark_analysis_report_submitted(incident, reviewer, NOW)
    db.session.commit()


def _closed(operator_api, manager_api, make_user, shares):
    incident_id, path = _declare_to_recovered(operator_api, shares)
    _submit_report(make_user, incident_id)
    assert manager_api.post(path + "/close").status_code == 200
    return incident_id, path


TECH_100 = [{"category": "technical", "sub_cause": "transmission_interruption", "party": "传输部", "share": 100}]


@freeze_time(NOW)
def test_preview_then_closure_writes_the_final_ledger(people, operator_api, manager_api, make_user):
    a, b = people
    incident_id, path = _declare_to_recovered(operator_api, TECH_100)

    preview = operator_api.get(path + "/compensation").json
    assert preview["final"] is False
    assert preview["multiplier"] == 2 and preview["recovery_window_breached"] is True
    assert [(r["subscriber_id"], r["economic_credit"], r["data_credit_gb"], r["entry_id"]) for r in preview["items"]] == [
        (a, "1.46", 3, None), (b, "3.23", 0, None)]
    assert preview["totals"] == {"subscribers": 2, "credited_subscribers": 2, "economic_credit": "4.69", "data_credit_gb": 3}
    assert preview["policy_version"].startswith("2026.1+")
    assert operator_api.get(path + "/compensation.csv").status_code == 409  # billing never gets a preview

    _submit_report(make_user, incident_id)
    assert manager_api.post(path + "/close").status_code == 200

    final = operator_api.get(path + "/compensation").json
    assert final["final"] is True
    rows = final["items"]
    assert [(r["subscriber_id"], r["phone"], r["outage_minutes"], r["economic_credit"], r["data_credit_gb"], r["version"])
            for r in rows] == [(a, rows[0]["phone"], 545, "1.46", 3, 1), (b, rows[1]["phone"], 545, "3.23", 0, 1)]
    assert rows[0]["phone"].startswith("+86138")
    assert final["totals"] == preview["totals"]
    # each row keeps its own inputs; the terms it shares with the incident's other rows, and the
    # policy version, are on the ledger's header (and in every row the API and the CSV give)
    entry = db.session.scalars(sa.select(CompensationEntry).where(CompensationEntry.subscriber_id == a)).one()
    assert (entry.monthly_fee_fen, entry.data_service) == (5800, True)
    header = db.session.get(CompensationLedger, entry.incident_id)
    assert (header.outage_minutes, header.operator_share, header.multiplier) == (545, 100, 2)
    assert header.policy_version == preview["policy_version"]
    assert {(r["operator_share"], r["multiplier"], r["policy_version"]) for r in rows} == {
        (100, 2, preview["policy_version"])}
    events = operator_api.get(path + "/timeline").json
    assert [e["kind"] for e in events][-2:] == ["closed", "compensation_finalised"]
    assert events[-1]["after"]["economic_credit_fen"] == 469 and events[-1]["after"]["multiplier"] == 2


@freeze_time(NOW)
def test_live_incident_previews_until_now(people, operator_api):
    a, _ = people
    _, path = _declare_to_recovered(operator_api, TECH_100, recovered_at=None)
    preview = operator_api.get(path + "/compensation").json
    # live: 00:00 → 10:00 UTC = 600 min, past the 480-min window → ×2; 5800×600×100×2/4.32e6 = 161.11 → 1.61
    assert preview["outage_minutes"] == 600 and preview["multiplier"] == 2
    assert preview["items"][0]["economic_credit"] == "1.61"


@freeze_time(NOW)
def test_pagination_of_the_ledger(people, operator_api):
    _, path = _declare_to_recovered(operator_api, TECH_100)
    page = operator_api.get(path + "/compensation?per_page=1&page=2").json
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["economic_credit"] == "3.23"
    assert page["totals"]["subscribers"] == 2  # totals cover the whole ledger, not the page
    assert operator_api.get(path + "/compensation?per_page=0").status_code == 422


@freeze_time(NOW)
def test_csv_for_billing_streams_the_current_figures(people, operator_api, manager_api, make_user):
    a, b = people
    incident_id, path = _closed(operator_api, manager_api, make_user, TECH_100)
    response = operator_api.get(path + "/compensation.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(int(r["subscriber_id"]), r["economic_credit"], r["data_credit_gb"], r["multiplier"]) for r in table] == [
        (a, "1.46", "3", "2"), (b, "3.23", "0", "2")]
    assert table[0]["incident_number"].startswith("INC-")


@freeze_time(NOW)
def test_dispute_and_approval_add_versions_and_never_overwrite(people, operator_api, manager_api, make_user):
    a, _ = people
    incident_id, path = _closed(operator_api, manager_api, make_user, TECH_100)
    entry_id = operator_api.get(path + "/compensation").json["items"][0]["entry_id"]

    body = {"reason": "用户称影响营业，协商补偿 5 元", "economic_credit": "5.00", "data_credit_gb": 5}
    disputed = operator_api.post(f"/compensation/{entry_id}/dispute", json=body)
    assert disputed.status_code == 201, disputed.json
    assert disputed.json["current_version"] == 1 and disputed.json["economic_credit"] == "1.46"
    assert [(v["version"], v["status"]) for v in disputed.json["versions"]] == [(1, "computed"), (2, "proposed")]
    assert operator_api.post(f"/compensation/{entry_id}/dispute", json=body).status_code == 409  # one pending at a time
    assert operator_api.post(f"/compensation/{entry_id}/approve", json={}).status_code == 403  # duty managers only

    approved = manager_api.post(f"/compensation/{entry_id}/approve", json={"note": "同意"})
    assert approved.status_code == 200
    assert approved.json["current_version"] == 2 and approved.json["economic_credit"] == "5.00"
    assert approved.json["versions"][0]["economic_credit"] == "1.46"  # version 1 kept as computed
    assert manager_api.post(f"/compensation/{entry_id}/approve", json={}).status_code == 409

    ledger = operator_api.get(path + "/compensation").json
    assert (ledger["items"][0]["economic_credit"], ledger["items"][0]["data_credit_gb"], ledger["items"][0]["version"]) == (
        "5.00", 5, 2)
    assert ledger["totals"]["economic_credit"] == "8.23" and ledger["totals"]["data_credit_gb"] == 5
    kinds = [e["kind"] for e in operator_api.get(path + "/timeline").json]
    assert kinds[-2:] == ["compensation_disputed", "compensation_adjustment_approved"]

    # a second negotiation becomes version 3; rejected, version 2 stays current
    again = operator_api.post(f"/compensation/{entry_id}/dispute", json={**body, "economic_credit": "6"})
    assert [v["version"] for v in again.json["versions"]] == [1, 2, 3]
    rejected = manager_api.post(f"/compensation/{entry_id}/reject", json={"note": "超出标准"})
    assert rejected.status_code == 200
    assert rejected.json["current_version"] == 2 and rejected.json["economic_credit"] == "5.00"
    assert [v["status"] for v in rejected.json["versions"]] == ["computed", "approved", "rejected"]
    assert operator_api.get(path + "/timeline").json[-1]["kind"] == "compensation_adjustment_rejected"
    # a decided version's figures can never be changed, not even by SQL
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.update(CompensationVersion).values(economic_credit_fen=1))
        db.session.flush()
    db.session.rollback()


@freeze_time(NOW)
def test_dispute_input_is_checked_and_changes_nothing(people, operator_api, manager_api, make_user):
    incident_id, path = _closed(operator_api, manager_api, make_user, TECH_100)
    entry_id = operator_api.get(path + "/compensation").json["items"][0]["entry_id"]
    for bad, field in [("1.234", "economic_credit"), ("-1", "economic_credit"), ("abc", "economic_credit")]:
        response = operator_api.post(f"/compensation/{entry_id}/dispute",
                                     json={"reason": "x", "economic_credit": bad, "data_credit_gb": 0})
        assert response.status_code == 422 and field in response.json["message"]
    response = operator_api.post(f"/compensation/{entry_id}/dispute",
                                 json={"reason": "x", "economic_credit": "1", "data_credit_gb": -1})
    assert response.status_code == 422
    assert operator_api.post("/compensation/999999/dispute",
                             json={"reason": "x", "economic_credit": "1", "data_credit_gb": 0}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CompensationVersion)) == 0


@freeze_time(NOW)
def test_the_database_refuses_to_overwrite_a_ledger_entry(people, operator_api, manager_api, make_user):
    incident_id, path = _closed(operator_api, manager_api, make_user, TECH_100)
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.update(CompensationEntry).values(economic_credit_fen=1))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.delete(CompensationEntry))
        db.session.flush()
    db.session.rollback()


@freeze_time(NOW)
def test_a_failure_while_finalising_rolls_back_the_closure(people, operator_api, make_user, monkeypatch):
    incident_id, path = _declare_to_recovered(operator_api, TECH_100)
    _submit_report(make_user, incident_id)
    manager, _ = make_user(Role.duty_manager)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    # after the entries are written, before the header (the notices follow in their own job)
    monkeypatch.setattr("app.compensation.engine.terms_record", crash)
    with pytest.raises(RuntimeError):
        service.close(incident_id, manager)
    db.session.rollback()
    assert service.get_incident(incident_id).status == "recovered"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CompensationEntry)) == 0

    monkeypatch.undo()
    service.close(incident_id, manager)  # the retry writes the ledger once
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CompensationEntry)) == 2


@freeze_time(NOW)
def test_finalising_twice_duplicates_nothing(people, operator_api, manager_api, make_user):
    from app.compensation import engine
    from app.policy import current_policy

    incident_id, path = _closed(operator_api, manager_api, make_user, TECH_100)
    assert engine.finalise(service.get_incident(incident_id), current_policy()) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CompensationEntry)) == 2


@freeze_time(NOW)
def test_notices_go_to_credited_subscribers_only(people, operator_api, manager_api, make_user):
    from app.notify.models import Notice

    a, b = people
    # external 100 %: B (no data service) gets nothing, A gets data → only A is credited
    external = [{"category": "external", "sub_cause": "power_outage", "party": "市电力公司", "share": 100}]
    incident_id, path = _declare_to_recovered(operator_api, external)
    _submit_report(make_user, incident_id)
    assert manager_api.post(path + "/close").status_code == 200
    compensation_notices = sa.select(Notice.subscriber_id).where(Notice.incident_id == incident_id,
                                                                Notice.kind == "compensation")
    assert db.session.scalars(compensation_notices).all() == []  # queued by the follow-up job
    assert followup.queue_pending() == [incident_id]
    assert db.session.scalars(compensation_notices).all() == [a]


@freeze_time(NOW)
def test_cancelled_incident_has_no_compensation(people, operator_api, manager_api):
    incident = operator_api.post("/incidents", json={"title": "误报", "services": ["mobile_data"], "regions": ["杭州"],
                                                     "detected_at": DETECTED}).json
    manager_api.post(f"/incidents/{incident['id']}/cancel", json={"reason": "误报"})
    response = operator_api.get(f"/incidents/{incident['id']}/compensation")
    assert response.status_code == 409 and response.json["state"] == "cancelled"
    assert operator_api.get("/incidents/999999/compensation").status_code == 404


def test_entry_detail_unknown_is_404(operator_api):
    response = operator_api.get("/compensation/123456")
    assert response.status_code == 404 and "不存在" in response.json["message"]


@freeze_time(NOW)
def test_closing_with_nobody_affected_gives_an_empty_final_ledger(app_ctx, operator_api, manager_api, make_user):
    incident_id, path = _declare_to_recovered(operator_api, TECH_100)  # no subscriber in 杭州 at all
    _submit_report(make_user, incident_id)
    assert manager_api.post(path + "/close").status_code == 200
    ledger = operator_api.get(path + "/compensation").json
    assert ledger["final"] is True and ledger["items"] == [] and ledger["multiplier"] == 2
    assert ledger["totals"] == {"subscribers": 0, "credited_subscribers": 0, "economic_credit": "0.00", "data_credit_gb": 0}
    assert operator_api.get(path + "/compensation.csv").get_data(as_text=True).count("\n") == 1  # the header only


@freeze_time(NOW)
def test_entry_id_is_unique_per_incident_and_subscriber(people, operator_api, manager_api, make_user):
    from app.compensation.models import entry_id_for

    a, _ = people
    incident_id, path = _closed(operator_api, manager_api, make_user, TECH_100)
    entry = db.session.get(CompensationEntry, entry_id_for(incident_id, a))
    assert (entry.incident_id, entry.subscriber_id) == (incident_id, a)
    with pytest.raises(sa.exc.IntegrityError):  # the same subscriber can never be credited twice
        db.session.execute(sa.text(
            "INSERT INTO compensation_entries SELECT * FROM compensation_entries WHERE id = :id"), {"id": entry.id})
    db.session.rollback()


@freeze_time(NOW)
def test_a_concurrent_dispute_loses_with_409_and_changes_nothing(people, operator_api, manager_api, make_user,
                                                                 monkeypatch):
    incident_id, path = _closed(operator_api, manager_api, make_user, TECH_100)
    entry_id = operator_api.get(path + "/compensation").json["items"][0]["entry_id"]
    body = {"reason": "异议", "economic_credit": "2.00", "data_credit_gb": 1}
    assert operator_api.post(f"/compensation/{entry_id}/dispute", json=body).status_code == 201
    manager_api.post(f"/compensation/{entry_id}/approve", json={})
    events = len(operator_api.get(path + "/timeline").json)
    # the other agent read "next is version 2" before the first one committed
    monkeypatch.setattr("app.compensation.ledger._next_version", lambda entry: 2)
    response = operator_api.post(f"/compensation/{entry_id}/dispute", json=body)
    assert response.status_code == 409 and response.json["state"] == "changed"
    assert [v["version"] for v in operator_api.get(f"/compensation/{entry_id}").json["versions"]] == [1, 2]
    assert len(operator_api.get(path + "/timeline").json) == events


@freeze_time(NOW)
def test_final_totals_come_from_the_header_and_adjustments_only(people, operator_api, manager_api, make_user):
    """The final totals are read from the header plus the approved adjustments (no ledger scan),
    and equal the sum over every entry's current figures: an uncredited subscriber credited
    by a dispute counts as credited, a credit adjusted to nothing no longer does."""
    from app.compensation import ledger

    a, b = people
    external = [{"category": "external", "sub_cause": "power_outage", "party": "市电力公司", "share": 100}]
    incident_id, path = _declare_to_recovered(operator_api, external)
    _submit_report(make_user, incident_id)
    assert manager_api.post(path + "/close").status_code == 200
    items = {i["subscriber_id"]: i["entry_id"] for i in operator_api.get(path + "/compensation").json["items"]}
    for subscriber, plan in ((b, {"economic_credit": "3.00", "data_credit_gb": 0}),
                             (a, {"economic_credit": "0", "data_credit_gb": 0})):
        proposed = operator_api.post(f"/compensation/{items[subscriber]}/dispute", json={"reason": "协商", **plan})
        assert proposed.status_code == 201, proposed.json
        assert manager_api.post(f"/compensation/{items[subscriber]}/approve", json={}).status_code == 200

    totals = operator_api.get(path + "/compensation").json["totals"]
    assert totals == {"subscribers": 2, "credited_subscribers": 1, "economic_credit": "3.00", "data_credit_gb": 0}
    assert totals == ledger._totals(ledger.final_rows(incident_id))  # the full scan agrees
