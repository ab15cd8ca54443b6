"""RULES §2, every window for every grade, major and not, with the clock frozen and moved:
met just in time, breached just after, and a late fulfilment that stays breached."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from app.extensions import db
from app.incidents import service as incidents
from app.scheduling import service as deadlines_service
from app.scheduling.judge import judge_due
from tests import factories
from tests.scheduling.walk import T0, alerts, at, deadlines, minutes, recover, report, respond, timeline_kinds

# The windows of RULES §2 in minutes (the default policy's numbers).
RESPOND = {1: 120, 2: 240, 3: 480}
RECOVER = {1: 240, 2: 480, 3: 720}
FIXED = {"report": 15, "emergency_response": 30, "recovery_notice": 120, "formal_notice": 240, "analysis_report": 1440}
RECOVERED_AFTER = minutes(10)  # every walk recovers 10 min after detection when it needs to

GRADES = [(1, True), (2, False), (2, True), (3, False), (3, True)]
MAJOR_ONLY = {"emergency_response", "formal_notice"}
ALL_KINDS = ["report", "emergency_response", "response", "recovery", "recovery_notice", "formal_notice", "analysis_report"]
CASES = [(level, major, kind) for level, major in GRADES for kind in ALL_KINDS if major or kind not in MAJOR_ONLY]


def case_id(case):
    level, major, kind = case
    return f"L{level}-{'major' if major else 'minor'}-{kind}"


def expected_due(level: int, kind: str):
    if kind == "response":
        return T0 + minutes(RESPOND[level])
    if kind == "recovery":
        return T0 + minutes(RECOVER[level])
    start = T0 if kind in ("report", "emergency_response") else T0 + RECOVERED_AFTER
    return start + minutes(FIXED[kind])


class Walk:
    """One incident walked to just before the act that fulfils ``kind``, then the act itself."""

    def __init__(self, api, frozen, level: int, major: bool, kind: str) -> None:
        self.api, self.frozen, self.level, self.major, self.kind = api, frozen, level, major, kind
        # One affected subscriber, so a notice deadline waits for the notifier's handover
        # (with nobody to notify it would be met at recovery); no sender runs here.
        factories.subscribers(factories.phones(1))
        self.incident = factories.declared(api, level=level, major=major, detected_at=T0)
        self.id = self.incident["id"]
        if kind in ("report",):
            return
        self.frozen.move_to(T0 + minutes(1))
        report(api, self.id)
        if kind in ("emergency_response", "response"):
            return
        self.frozen.move_to(T0 + minutes(2))
        respond(api, self.id, emergency=major)
        if kind == "recovery":
            return
        self.frozen.move_to(T0 + RECOVERED_AFTER)
        recover(api, self.id)

    def act(self) -> None:
        """What fulfils the deadline: a transition, or the notifier / report domain calling fulfil()."""
        if self.kind == "report":
            report(self.api, self.id)
        elif self.kind in ("emergency_response", "response"):
            respond(self.api, self.id, emergency=self.major)
        elif self.kind == "recovery":
            recover(self.api, self.id)
        else:
            incident = incidents.get_incident(self.id)
            from app.clock import utcnow

            if self.kind == "analysis_report":
                incidents.mark_analysis_report_submitted(incident, None, utcnow())
                deadlines_service.fulfil(incident, "analysis_report", incident.analysis_report_submitted_at)
            else:
                deadlines_service.fulfil(incident, self.kind, utcnow())
            db.session.commit()

    def deadline(self) -> dict:
        return deadlines(self.api, self.id)[self.kind]


@pytest.mark.parametrize("level, major", GRADES)
def test_declaration_creates_the_detection_deadlines_of_the_grade(operator_api, level, major):
    with freeze_time(T0):
        incident = factories.declared(operator_api, level=level, major=major, detected_at=T0 - minutes(5))
        found = deadlines(operator_api, incident["id"])
    expected = {"report", "response", "recovery"} | ({"emergency_response"} if major else set())
    assert set(found) == expected
    for kind, deadline in found.items():
        assert at(deadline["due_at"]) == expected_due(level, kind) - minutes(5), kind
        assert deadline["state"] == "pending" and deadline["policy_version"] == incident["policy_version"]
    assert found["report"]["seconds_left"] == 10 * 60


@pytest.mark.parametrize("level, major", GRADES)
def test_recovery_adds_the_notice_and_report_deadlines_from_recovered_at(operator_api, level, major):
    with freeze_time(T0) as frozen:
        walk = Walk(operator_api, frozen, level, major, "analysis_report")
        found = deadlines(operator_api, walk.id)
    expected = {"recovery_notice", "analysis_report"} | ({"formal_notice"} if major else set())
    assert expected <= set(found) and not (set(found) - expected - {"report", "response", "recovery", "emergency_response"})
    for kind in expected:
        assert at(found[kind]["due_at"]) == expected_due(level, kind)
        assert at(found[kind]["starts_at"]) == T0 + RECOVERED_AFTER
    assert found["recovery"]["state"] == "met"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_met_just_in_time(operator_api, on_call_manager, case):
    level, major, kind = case
    with freeze_time(T0) as frozen:
        walk = Walk(operator_api, frozen, level, major, kind)
        due = expected_due(level, kind)
        assert at(walk.deadline()["due_at"]) == due
        frozen.move_to(due)
        walk.act()
        frozen.move_to(due + minutes(1))
        judge_due()
        deadline = walk.deadline()
    assert deadline["state"] == "met"
    assert at(deadline["met_at"]) == due
    assert deadline["breached_at"] is None and deadline["seconds_late"] is None
    assert not [e for e in timeline_kinds(walk.id, "deadline_breached") if e.after["kind"] == kind]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_breached_just_after(operator_api, on_call_manager, case):
    level, major, kind = case
    with freeze_time(T0) as frozen:
        walk = Walk(operator_api, frozen, level, major, kind)
        due = expected_due(level, kind)
        frozen.move_to(due - timedelta(seconds=1))
        judge_due()
        assert walk.deadline()["state"] == "pending"
        frozen.move_to(due + timedelta(seconds=1))
        judge_due()
        judge_due()  # a job firing twice changes nothing the second time
        deadline = walk.deadline()
    assert deadline["state"] == "breached"
    assert at(deadline["breached_at"]) == due + timedelta(seconds=1)
    assert deadline["met_at"] is None and deadline["seconds_late"] == 1
    breaches = [e for e in timeline_kinds(walk.id, "deadline_breached") if e.after["kind"] == kind]
    assert len(breaches) == 1 and breaches[0].actor_name == "system"
    # one escalation to the on-call duty manager per breached deadline of this incident
    escalations = [a for a in alerts("deadline_breach") if a.incident_id == walk.id]
    assert len(escalations) == len(timeline_kinds(walk.id, "deadline_breached"))
    assert {a.user_id for a in escalations} == {on_call_manager.id}
    assert any(walk.incident["number"] in a.message for a in escalations)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_late_fulfilment_stays_breached_and_records_how_late(operator_api, on_call_manager, case):
    level, major, kind = case
    with freeze_time(T0) as frozen:
        walk = Walk(operator_api, frozen, level, major, kind)
        due = expected_due(level, kind)
        frozen.move_to(due + timedelta(seconds=1))
        judge_due()
        frozen.move_to(due + minutes(10))
        walk.act()
        judge_due()
        deadline = walk.deadline()
    assert deadline["state"] == "breached"
    assert at(deadline["breached_at"]) == due + timedelta(seconds=1)
    assert at(deadline["met_at"]) == due + minutes(10)
    assert deadline["seconds_late"] == 600
    late = [e for e in timeline_kinds(walk.id, "deadline_met_late") if e.after["kind"] == kind]
    assert len(late) == 1 and "迟 10 分钟" in late[0].message
