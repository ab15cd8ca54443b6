"""Complaint limits under the incidents' judge: warning at 80%, breach alert, tier 2, exactly once."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from freezegun import freeze_time
from sqlalchemy import select

from app.complaints.models import ComplaintEvent
from app.extensions import db
from app.scheduling.judge import judge_due
from app.staff.models import StaffAlert
from tests.complaints.helpers import act, at, deadlines, register

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def alerts(kind: str) -> list[StaffAlert]:
    return list(db.session.scalars(select(StaffAlert).where(StaffAlert.kind == kind).order_by(StaffAlert.id)))


def events(complaint_id: int, kind: str) -> int:
    return len(db.session.scalars(select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == complaint_id, ComplaintEvent.kind == kind)).all())


def test_a_restart_in_the_middle_of_a_weekend_judges_each_limit_once_when_it_falls_due(api_as, make_user):
    """Billing complaint Wed 11-25 16:00: feedback (72 h) falls due Sat 11-28 16:00, written feedback
    (10 working days) Wed 12-09 16:00. The scheduler stops Friday and restarts on Sunday: the start-up
    pass judges the Saturday breach once; a second process, or a second pass, finds nothing left;
    the working-day limit is judged once on its Wednesday and never on the weekend."""
    manager, _ = make_user("duty_manager", on_call=True, phone="+8613800138000")
    agent = api_as("agent")
    with freeze_time(local("2026-11-25T16:00")) as clock:
        complaint = register(agent)
        clock.move_to(local("2026-11-27T18:00"))   # Friday evening: the last pass before the stop
        assert not judge_due()
        clock.move_to(local("2026-11-29T10:00"))   # Sunday: restart
        first, second = judge_due(), judge_due()
        assert len(first.breached) == 1 and not second
        limits = deadlines(agent, complaint["id"])
        assert limits["feedback"]["state"] == "breached"
        assert at(limits["feedback"]["breached_at"]) == local("2026-11-29T10:00")
        assert limits["feedback"]["warned_at"] is None      # past due at restart: a breach, not a warning
        assert limits["written_feedback"]["state"] == "pending"
        clock.move_to(local("2026-12-09T15:59:59"))
        judge_due()
        assert deadlines(agent, complaint["id"])["written_feedback"]["state"] == "pending"
        clock.move_to(local("2026-12-09T16:00"))
        judge_due(), judge_due()
        assert deadlines(agent, complaint["id"])["written_feedback"]["state"] == "breached"
    breaches = alerts("deadline_breach")
    assert [a.user_id for a in breaches] == [manager.id, manager.id]
    assert all(complaint["number"] in a.message and a.incident_id is None for a in breaches)
    assert "反馈处理结果" in breaches[0].message and "书面反馈" in breaches[1].message
    assert events(complaint["id"], "deadline_breached") == 2


def test_warning_at_80_percent_then_tier_two(api_as, make_user):
    """Business complaint Mon 11-23 10:00, feedback 48 h: warned at 38.4 h (Tue 24:24 → Wed 00:24),
    breached Wed 10:00, tier 2 after the policy's 30 minutes."""
    make_user("duty_manager", on_call=True, phone="+8613800138000")
    agent = api_as("agent")
    with freeze_time(local("2026-11-23T10:00")) as clock:
        complaint = register(agent, category="business")
        clock.move_to(local("2026-11-25T00:24"))
        judge_due(), judge_due()
        clock.move_to(local("2026-11-25T10:00"))
        judge_due()
        clock.move_to(local("2026-11-25T10:30"))
        judge_due(), judge_due()
        limits = deadlines(agent, complaint["id"])
    assert at(limits["feedback"]["warned_at"]) == local("2026-11-25T00:24")
    assert limits["feedback"]["escalated_at"] is not None
    assert len(alerts("deadline_warning")) == 1 and alerts("deadline_warning")[0].message.startswith("【预警】")
    assert len(alerts("escalation_tier2")) == 1
    assert events(complaint["id"], "deadline_warning") == 1 and events(complaint["id"], "deadline_escalated") == 1


def test_late_feedback_nobody_judged_is_breached_once_and_met_late(api_as, make_user):
    make_user("duty_manager", on_call=True, phone="+8613800138000")
    agent = api_as("agent")
    with freeze_time(local("2026-11-23T10:00")) as clock:
        complaint = register(agent, category="business")
        clock.move_to(local("2026-11-25T11:00"))
        act(agent, complaint["id"], "feedback", result="已办理", send_sms=False)
        judge_due()
        feedback = deadlines(agent, complaint["id"])["feedback"]
    assert feedback["state"] == "breached" and feedback["seconds_late"] == 3600
    assert len(alerts("deadline_breach")) == 1
    assert events(complaint["id"], "deadline_met_late") == 1


def test_the_complaints_list_puts_overdue_first(api_as):
    agent = api_as("agent")
    with freeze_time(local("2026-11-23T10:00")) as clock:
        late = register(agent, category="business", received_at=local("2026-11-20T09:00"))
        fresh = register(agent, category="billing")
        clock.move_to(local("2026-11-23T11:00"))
        listed = agent.get("/complaints").json["items"]
        overdue = agent.get("/complaints?overdue=true").json["items"]
    assert [c["id"] for c in listed] == [late["id"], fresh["id"]]
    assert [c["id"] for c in overdue] == [late["id"]]
