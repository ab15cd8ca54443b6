"""The judge: early warning, breach, tier-2 escalation — each exactly once, whatever fails."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import null, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.scheduling import judge
from app.scheduling.judge import judge_due
from app.scheduling.models import Deadline
from app.staff.models import StaffAlert
from tests import factories
from tests.scheduling.walk import T0, alerts, at, count, deadlines, minutes, report, respond, timeline_kinds


def test_warning_at_the_policy_fraction_of_each_window_once(operator_api, on_call_manager):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(12) - timedelta(seconds=1))  # 80% of the 15-min report window is 12 min
        judge_due()
        assert deadlines(operator_api, incident["id"])["report"]["warned_at"] is None
        frozen.move_to(T0 + minutes(12))
        judge_due()
        judge_due()
        report_deadline = deadlines(operator_api, incident["id"])["report"]
    assert at(report_deadline["warned_at"]) == T0 + minutes(12)
    assert report_deadline["state"] == "pending"
    warnings = alerts("deadline_warning")
    assert len(warnings) == 1 and warnings[0].user_id == on_call_manager.id
    assert warnings[0].message.startswith("【预警】") and incident["number"] in warnings[0].message
    assert len(timeline_kinds(incident["id"], "deadline_warning")) == 1


def test_tier_two_escalation_when_still_unmet_after_the_interval(operator_api, on_call_manager, monkeypatch):
    from app.policy import current_policy

    # The unacknowledged climb (app/oncall/escalation.py) would raise tier 2 first at its default
    # 15 minutes; here it waits longer than the interval, so this rule raises the chain's tier 2.
    monkeypatch.setitem(current_policy().data["escalation"], "unacknowledged_next_tier_minutes", 60)
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
        frozen.move_to(T0 + minutes(45) - timedelta(seconds=1))  # due 15 min + 30 min interval
        judge_due()
        assert deadlines(operator_api, incident["id"])["report"]["escalated_at"] is None
        frozen.move_to(T0 + minutes(45))
        judge_due()
        judge_due()
        report_deadline = deadlines(operator_api, incident["id"])["report"]
    assert at(report_deadline["escalated_at"]) == T0 + minutes(45)
    tier2 = alerts("escalation_tier2")
    assert len(tier2) == 1 and tier2[0].message.startswith("【二级升级】")
    assert len(timeline_kinds(incident["id"], "deadline_escalated")) == 1
    from app.oncall.models import OncallEscalation

    tiers = db.session.scalars(select(OncallEscalation.tier).order_by(OncallEscalation.tier)).all()
    assert tiers == [1, 2]        # one escalation path: this tier 2 is the breach chain's step


def test_no_tier_two_once_fulfilled_late(operator_api, on_call_manager):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
        frozen.move_to(T0 + minutes(20))
        report(operator_api, incident["id"])
        frozen.move_to(T0 + minutes(50))
        judge_due()
    assert alerts("escalation_tier2") == []


def test_late_fulfilment_nobody_judged_yet_is_breached_and_escalated_once(operator_api, on_call_manager):
    """The scheduler was down when the report window passed; the late report itself records the breach."""
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(20))
        report(operator_api, incident["id"])
        judge_due()
        report_deadline = deadlines(operator_api, incident["id"])["report"]
    assert report_deadline["state"] == "breached"
    assert at(report_deadline["breached_at"]) == T0 + minutes(20)
    assert at(report_deadline["met_at"]) == T0 + minutes(20) and report_deadline["seconds_late"] == 300
    assert len(timeline_kinds(incident["id"], "deadline_breached")) == 1
    assert len(alerts("deadline_breach")) == 1


def test_back_dated_recovery_within_the_window_withdraws_the_breach(operator_api, on_call_manager):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(1))
        report(operator_api, incident["id"])
        respond(operator_api, incident["id"], emergency=False)
        frozen.move_to(T0 + minutes(720) + minutes(5))  # level 3 recovery window is 12 h
        judge_due()
        assert deadlines(operator_api, incident["id"])["recovery"]["state"] == "breached"
        response = operator_api.post(f"/incidents/{incident['id']}/recover",
                                     json={"summary": "ok", "recovered_at": (T0 + minutes(700)).isoformat()})
        assert response.status_code == 200
        recovery = deadlines(operator_api, incident["id"])["recovery"]
    assert recovery["state"] == "met" and at(recovery["met_at"]) == T0 + minutes(700)
    assert len(timeline_kinds(incident["id"], "deadline_breach_withdrawn")) == 1


def test_a_pass_that_fails_midway_records_nothing_and_the_next_records_once(operator_api, on_call_manager, monkeypatch):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))

        def failing_alerts(alerts, tier):
            # The alerts' INSERT fails in the database, after the claim and the timeline event were
            # written (statement by statement on SQLite; inside the one CTE on PostgreSQL).
            return real_alerts(alerts.with_only_columns(*alerts.selected_columns[:-1], null().label("dedupe_key")), tier)

        real_alerts = judge.duty_alerts_from_select
        monkeypatch.setattr(judge, "duty_alerts_from_select", failing_alerts)
        with pytest.raises(IntegrityError):
            judge_due()
        assert deadlines(operator_api, incident["id"])["report"]["state"] == "pending"
        assert timeline_kinds(incident["id"], "deadline_breached") == [] and alerts() == []
        monkeypatch.undo()
        judge_due()
        judge_due()
    assert deadlines(operator_api, incident["id"])["report"]["state"] == "breached"
    assert len(timeline_kinds(incident["id"], "deadline_breached")) == 1
    assert len(alerts("deadline_breach")) == 1


def test_judging_in_batches_claims_every_row_once(operator_api, on_call_manager):
    with freeze_time(T0) as frozen:
        ids = [factories.declared(operator_api, detected_at=T0)["id"] for _ in range(5)]
        frozen.move_to(T0 + minutes(16))
        result = judge_due(batch=2)
        again = judge_due(batch=2)
    assert len(result.breached) == 5 and not again
    assert sorted(e.incident_id for i in ids for e in timeline_kinds(i, "deadline_breached")) == sorted(ids)
    assert count(StaffAlert, StaffAlert.kind == "deadline_breach") == 5


def test_cancel_stops_every_pending_deadline_and_further_escalation(operator_api, manager_api, on_call_manager):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
        response = manager_api.post(f"/incidents/{incident['id']}/cancel", json={"reason": "误报"})
        assert response.status_code == 200
        frozen.move_to(T0 + minutes(24 * 60))
        judge_due()
        found = deadlines(operator_api, incident["id"])
    assert found["report"]["state"] == "breached"  # an outcome already reached is kept
    assert found["response"]["state"] == "cancelled" and found["recovery"]["state"] == "cancelled"
    assert alerts("escalation_tier2") == []
    assert operator_api.get(f"/incidents/{incident['id']}").json["next_deadline"] is None


def test_no_on_call_manager_still_records_the_breach(operator_api):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
    assert deadlines(operator_api, incident["id"])["report"]["state"] == "breached"
    assert len(timeline_kinds(incident["id"], "deadline_breached")) == 1


def test_next_wake_time_is_the_earliest_due_warning_or_escalation(operator_api):
    with freeze_time(T0) as frozen:
        assert judge.next_wake_time() is None
        factories.declared(operator_api, detected_at=T0)
        assert judge.next_wake_time() == T0 + minutes(12)  # the report warning comes first
        frozen.move_to(T0 + minutes(12))
        judge_due()
        assert judge.next_wake_time() == T0 + minutes(15)
        frozen.move_to(T0 + minutes(15))
        judge_due()
        # the breach alert unacknowledged for the policy's 15 minutes goes to the roster's next tier
        assert judge.next_wake_time() == T0 + minutes(30)
        frozen.move_to(T0 + minutes(30))
        judge_due()
        assert judge.next_wake_time() == T0 + minutes(45)  # tier 2 of the report, before the response warning
    rows = db.session.scalars(select(Deadline)).all()
    assert {d.kind: d.state for d in rows}["report"] == "breached"
