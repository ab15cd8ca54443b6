"""Two real `flask scheduler run` processes against the test's database.

PostgreSQL: exactly one is active (it holds the advisory lock); kill it and the other takes
over within seconds, judging what fell due meanwhile; no deadline is judged twice.
SQLite (one process is the supported set-up there): even two processes by mistake never
judge a deadline twice, because every claim is a conditional UPDATE.
"""
from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.clock import utcnow
from app.extensions import db
from app.incidents.models import TimelineEvent
from app.scheduling.models import Deadline
from app.staff.models import StaffAlert
from tests import factories
from tests.processes import flask_process, wait_for

pytestmark = pytest.mark.slow
KINDS_PER_LEVEL1 = 4  # report, emergency_response, response, recovery


def active_scheduler_pids() -> list[int]:
    rows = db.session.execute(text(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND a.application_name LIKE 'noc-scheduler-%'")).scalars().all()
    return sorted(int(name.rsplit("-", 1)[1]) for name in rows)


def all_breached(incident_ids: list[int]) -> bool:
    states = db.session.scalars(select(Deadline.state).where(Deadline.incident_id.in_(incident_ids))).all()
    return len(states) == KINDS_PER_LEVEL1 * len(incident_ids) and set(states) == {"breached"}


def judged_by(incident_ids: list[int]) -> set[int]:
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "deadline_breached",
                                                            TimelineEvent.incident_id.in_(incident_ids))).all()
    return {int(e.after["judged_by"].rsplit(":", 1)[1]) for e in events}


@pytest.fixture
def scheduler_processes(app_ctx, tmp_path):
    url = app_ctx.config["SQLALCHEMY_DATABASE_URI"]
    processes: list[subprocess.Popen] = []

    def _start(count: int) -> list[subprocess.Popen]:
        for index in range(count):
            log = open(tmp_path / f"scheduler-{len(processes)}.log", "wb")
            process = flask_process(url, "scheduler", "run", "--poll", "0.5", log=log)
            process.args_log = log.name
            processes.append(process)
        return processes

    yield _start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def logs_of(processes: list[subprocess.Popen]) -> str:
    """Each scheduler's exit status and its log's tail, for a failure message."""
    return "\n".join(f"--- scheduler {p.pid} (exit {p.poll()}):\n{Path(p.args_log).read_text(errors='replace')[-3000:]}"
                     for p in processes)


def backdated_major_incidents(api, count: int) -> list[int]:
    """Level 1 incidents detected a day ago: all four detection deadlines are long overdue."""
    return [factories.declared(api, level=1, detected_at=utcnow() - timedelta(days=1))["id"] for _ in range(count)]


def test_one_active_scheduler_and_takeover_without_double_judging(
        app_ctx, operator_api, on_call_manager, scheduler_processes):
    on_postgres = db.engine.dialect.name == "postgresql"
    processes = scheduler_processes(2)
    by_pid = {p.pid: p for p in processes}

    if on_postgres:
        holders = wait_for(active_scheduler_pids, 60, "a scheduler to take the advisory lock")
        assert len(holders) == 1 and holders[0] in by_pid
        active = holders[0]
    first = backdated_major_incidents(operator_api, 3)
    wait_for(lambda: all_breached(first), 60, "the first incidents' deadlines to be breached",
             context=lambda: logs_of(processes))
    first_judges = judged_by(first)
    assert first_judges <= set(by_pid)
    if on_postgres:
        assert first_judges == {active}  # only the active process judged
        assert active_scheduler_pids() == [active]
    else:
        active = first_judges.pop() if len(first_judges) == 1 else processes[0].pid

    by_pid[active].kill()  # no clean shutdown: the process dies holding everything
    by_pid[active].wait()
    killed_at = time.monotonic()
    second = backdated_major_incidents(operator_api, 3)  # fall due while (possibly) nobody is active
    standby = next(pid for pid in by_pid if pid != active)
    if on_postgres:
        wait_for(lambda: active_scheduler_pids() == [standby], 30, "the standby to take over")
        assert time.monotonic() - killed_at < 10
    wait_for(lambda: all_breached(second), 60, "the standby to judge what fell due",
             context=lambda: logs_of(processes))
    assert judged_by(second) == {standby}

    everything = first + second
    rows = db.session.scalars(select(Deadline).where(Deadline.incident_id.in_(everything))).all()
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "deadline_breached")).all()
    assert len(events) == len(rows) == KINDS_PER_LEVEL1 * len(everything)
    assert len({(e.incident_id, e.after["kind"]) for e in events}) == len(events)  # none judged twice
    wait_for(lambda: db.session.scalar(select(db.func.count()).select_from(StaffAlert)
                                       .where(StaffAlert.kind == "escalation_tier2")) == len(rows),
             30, "tier-2 escalations")
    breach_alerts = db.session.scalars(select(StaffAlert).where(StaffAlert.kind == "deadline_breach")).all()
    assert len(breach_alerts) == len(rows)
