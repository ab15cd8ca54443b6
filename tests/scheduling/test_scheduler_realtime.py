"""The running scheduler, in real time, with a policy of second-long windows.

No sleeping: each test waits on an Event that the scheduler sets after its judging pass.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.incidents.models import TimelineEvent
from app.scheduling.models import Deadline
from app.scheduling.runner import DeadlineScheduler
from app.staff.models import StaffAlert
from tests import factories
from tests.scheduling.walk import at, deadlines

pytestmark = pytest.mark.slow


class Watcher:
    """Sets events when a pass breached something, or simply completed."""

    def __init__(self, runner: DeadlineScheduler) -> None:
        self.breached_ids: set[int] = set()
        self.any_breach = threading.Event()
        self.passes = 0
        self.passed = threading.Event()
        runner.on_pass(self)

    def __call__(self, result) -> None:
        self.passes += 1
        self.passed.set()
        if result.breached:
            self.breached_ids.update(result.breached)
            self.any_breach.set()


@pytest.fixture
def start_scheduler(app_ctx):
    started: list[DeadlineScheduler] = []

    def _start(poll_seconds: float = 0.5) -> tuple[DeadlineScheduler, Watcher]:
        runner = DeadlineScheduler(app_ctx, poll_seconds=poll_seconds)
        watcher = Watcher(runner)
        runner.start()
        started.append(runner)
        return runner, watcher

    yield _start
    for runner in started:
        runner.shutdown()


def test_the_running_scheduler_breaches_within_a_second_of_the_due_time(
        operator_api, on_call_manager, seconds_policy, start_scheduler):
    # A long poll proves the breach comes from the job planned at the due time, not from polling.
    runner, watcher = start_scheduler(poll_seconds=30)
    assert watcher.passed.wait(timeout=10)  # the start-up pass
    incident = factories.declared(operator_api)
    assert watcher.any_breach.wait(timeout=10), "the scheduler never judged the 2-second report window"
    report_deadline = deadlines(operator_api, incident["id"])["report"]
    assert report_deadline["state"] == "breached"
    delay = at(report_deadline["breached_at"]) - at(report_deadline["due_at"])
    assert timedelta(0) <= delay < timedelta(seconds=1), delay
    # and the warning came first, at half of the window
    assert at(report_deadline["warned_at"]) < at(report_deadline["due_at"])
    assert db.session.scalar(select(StaffAlert.kind).where(StaffAlert.kind == "deadline_breach")) == "deadline_breach"
    assert runner.status()["role"] == "active"


def test_restart_judges_what_fell_due_meanwhile_exactly_once(
        operator_api, on_call_manager, seconds_policy, start_scheduler):
    # Nothing runs while these incidents' windows (2-8 s) pass: they were detected a minute ago.
    ids = [factories.declared(operator_api, level=1, detected_at=utcnow() - timedelta(minutes=1))["id"] for _ in range(3)]
    first, watcher = start_scheduler()
    assert watcher.any_breach.wait(timeout=10)
    first.shutdown()
    # more fall due while nothing runs
    ids.append(factories.declared(operator_api, level=1, detected_at=utcnow() - timedelta(minutes=1))["id"])
    second, watcher2 = start_scheduler()
    assert watcher2.any_breach.wait(timeout=10)
    second.shutdown()
    third, watcher3 = start_scheduler()  # a third start finds nothing left to judge
    assert watcher3.passed.wait(timeout=10)
    third.shutdown()

    rows = db.session.scalars(select(Deadline).where(Deadline.incident_id.in_(ids))).all()
    assert len(rows) == 4 * 4  # report, emergency_response, response, recovery
    assert {d.state for d in rows} == {"breached"} and all(d.escalated_at for d in rows)
    assert watcher.breached_ids | watcher2.breached_ids == {d.id for d in rows}
    assert not (watcher.breached_ids & watcher2.breached_ids) and not watcher3.breached_ids
    breaches = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "deadline_breached")).all()
    assert sorted((e.incident_id, e.after["kind"]) for e in breaches) == sorted((d.incident_id, d.kind) for d in rows)
    for kind in ("deadline_breach", "escalation_tier2"):
        sent = db.session.scalars(select(StaffAlert).where(StaffAlert.kind == kind)).all()
        assert len(sent) == len(rows), kind  # one per deadline to the one on-call manager


def test_shutdown_while_a_pass_runs_waits_for_it_and_never_deadlocks(app_ctx, start_scheduler, monkeypatch):
    from app.scheduling import runner as runner_module

    real_judge = runner_module.judge_due
    entered = threading.Event()
    holder: dict = {}

    def slow_judge(*args, **kwargs):
        entered.set()
        pause = threading.Event()
        for _ in range(500):  # hold the pass until shutdown has begun
            if holder["runner"]._stopping:
                break
            pause.wait(0.01)
        return real_judge(*args, **kwargs)

    monkeypatch.setattr(runner_module, "judge_due", slow_judge)
    runner, _ = start_scheduler()
    holder["runner"] = runner
    assert entered.wait(timeout=10)
    stopper = threading.Thread(target=runner.shutdown)
    stopper.start()
    stopper.join(timeout=20)
    assert not stopper.is_alive(), "shutdown deadlocked with the running pass"
    assert not runner.running and not runner._in_pass
    assert runner.status()["role"] == "stopped"
