"""kill -9 of the scheduler in the middle of its start-up catch-up: every deadline judged once."""
from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.auth.models import Role
from app.auth.service import create_user
from app.clock import utcnow
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import TimelineEvent
from app.scheduling.models import Deadline
from app.staff.models import StaffAlert
from tests.processes import wait_for

pytestmark = pytest.mark.slow
INCIDENTS = 120


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_scheduler_killed_during_catch_up_judges_each_deadline_once(fault_app, processes):
    operator, _ = create_user("operator-faults", Role.operator)
    create_user("manager-faults", Role.duty_manager, on_call=True, phone="+8613800138000")
    for index in range(INCIDENTS):          # level 1, detected a day ago: four deadlines each, all overdue
        incidents.declare(operator, title=f"积压故障 {index}", services=["core_network"], regions=["杭州"],
                          level=1, detected_at=utcnow() - timedelta(days=1))
    db.session.commit()
    # …and past their tier-2 escalation too: the catch-up has two steps to be killed in
    db.session.execute(update(Deadline).values(escalate_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    total = count(Deadline)
    assert total == 4 * INCIDENTS

    env = {"NOC_JUDGE_BATCH": "10"}          # many small transactions: a kill lands between two of them
    first = processes.start("scheduler-1", "scheduler", "run", "--poll", "0.5", **env)
    try:
        judged = wait_for(lambda: count(Deadline, Deadline.state == "breached"), 90,
                            "the catch-up to start", every=0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    db.session.rollback()
    breached_at_kill = count(Deadline, Deadline.state == "breached")
    escalated_at_kill = count(Deadline, Deadline.escalated_at.is_not(None))
    assert judged and escalated_at_kill < total, (breached_at_kill, escalated_at_kill)   # killed mid-way

    second = processes.start("scheduler-2", "scheduler", "run", "--poll", "0.5", **env)
    wait_for(lambda: count(Deadline, Deadline.escalated_at.is_not(None)) == total, 90, "the restart to finish")
    second.send_signal(signal.SIGTERM)
    second.wait(30)

    assert count(Deadline, Deadline.state == "breached") == total
    for kind in ("deadline_breached", "deadline_escalated"):
        events = db.session.execute(select(TimelineEvent.incident_id, TimelineEvent.after)
                                    .where(TimelineEvent.kind == kind)).all()
        assert len(events) == total and len({(i, after["kind"]) for i, after in events}) == total, kind
    for kind in ("deadline_breach", "escalation_tier2"):       # one alert per deadline to the one manager
        assert count(StaffAlert, StaffAlert.kind == kind) == total, kind
    judges = {after["judged_by"] for (after,) in db.session.execute(
        select(TimelineEvent.after).where(TimelineEvent.kind == "deadline_breached"))}
    print(f"killed after {breached_at_kill} breaches and {escalated_at_kill} escalations of {total}; "
          f"judged by {sorted(judges)}")
