"""Deadline benchmark: 10,000 open incidents with all their deadlines, on SQLite and PostgreSQL.

Prints, per backend:
  - declaration: time to declare the incidents (each creating its deadlines in the same
    transaction), beside the bare declaration with the deadline receivers disconnected;
  - due -> breach delay (p50, p99) of deadlines falling due while the running scheduler
    watches the full table, beside a bare APScheduler date job's own firing delay;
  - start-up catch-up: a fresh scheduler judging ~70,000 overdue deadlines (each with its
    timeline event and duty-manager alert), beside the bare conditional UPDATE alone.

    .venv/bin/python bench/deadlines.py [--backend sqlite|postgresql|both] [--incidents 10000]
Targets (issue 3): p99 < 1 s; catch-up of 70,000 overdue deadlines < 10 s.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logging  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from apscheduler.schedulers.background import BackgroundScheduler  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from app import create_app  # noqa: E402
from bench.common import fresh_database  # noqa: E402
from app.auth.models import Role  # noqa: E402
from app.auth.service import create_user  # noqa: E402
from app.clock import utcnow  # noqa: E402
from app.extensions import db  # noqa: E402
from app.incidents import service as incidents  # noqa: E402
from app.scheduling import service as deadline_service  # noqa: E402
from app.scheduling.models import Deadline, DeadlineKind  # noqa: E402
from app.scheduling.runner import DeadlineScheduler  # noqa: E402

DELAY_SAMPLES = 300        # deadlines falling due while the scheduler runs
DELAY_SPREAD_SECONDS = 20  # spread over this many seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


@contextmanager
def without_deadlines():
    """Declaration with the deadline step of its flow left out: the bare figure to compare with."""
    with mock.patch.object(deadline_service, "create_deadlines", return_value=[]):
        yield


def declare_many(user, count: int, detected_at_of=lambda i: None) -> list[float]:
    durations = []
    for i in range(count):
        started = time.perf_counter()
        incidents.declare(user, title=f"基准故障 {i}", services=["core_network"], regions=["杭州"],
                          detected_at=detected_at_of(i))
        durations.append(time.perf_counter() - started)
    return durations


def tidy_up(engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE deadlines" if engine.dialect.name == "postgresql" else "ANALYZE"))


def bare_apscheduler_delay(samples: int = 100) -> list[float]:
    """The floor: how late a bare APScheduler date job fires, with no database at all."""
    delays: list[float] = []
    done = threading.Event()
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    scheduler.start()
    now = datetime.now(timezone.utc)

    def fire(planned):
        delays.append((datetime.now(timezone.utc) - planned).total_seconds())
        if len(delays) == samples:
            done.set()

    for i in range(samples):
        planned = now + timedelta(seconds=1 + random.random() * 4)
        scheduler.add_job(fire, "date", run_date=planned, args=[planned], misfire_grace_time=None)
    done.wait(30)
    scheduler.shutdown()
    return delays


def run(backend: str, count: int) -> dict:
    figures: dict[str, object] = {"backend": backend, "incidents": count}
    with fresh_database(backend) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "NOC_SCHEDULER_POLL_SECONDS": 1.0})
        with app.app_context():
            upgrade()
            user, _ = create_user("bench-operator", Role.operator)
            create_user("bench-manager", Role.duty_manager, on_call=True, phone="+8613800138000")

            # 1. declaration, bare first (then removed so the table holds only our incidents)
            baseline_n = max(1, count // 5)
            with without_deadlines():
                bare = declare_many(user, baseline_n)
            figures["declare_bare_ms_mean"] = statistics.mean(bare) * 1000
            started = time.perf_counter()
            timed = declare_many(user, count)
            figures["declare_total_s"] = time.perf_counter() - started
            figures["declare_ms_mean"] = statistics.mean(timed) * 1000
            figures["declare_ms_p99"] = percentile(timed, 0.99) * 1000
            figures["deadline_rows"] = db.session.scalar(select(sa.func.count()).select_from(Deadline))

            # 2. due -> breach delay with the scheduler running over the full table
            runner = DeadlineScheduler(app, poll_seconds=1.0)
            runner.start()
            first_pass = threading.Event()
            runner.on_pass(lambda result: first_pass.set())
            first_pass.wait(60)
            report_window = timedelta(minutes=15)
            base = utcnow()
            offsets = sorted(2 + random.random() * DELAY_SPREAD_SECONDS for _ in range(DELAY_SAMPLES))
            watched = []
            for offset in offsets:  # declared as time goes by, as operators would
                incident = incidents.declare(user, title="时延样本", services=["mobile_data"], regions=["杭州"],
                                             detected_at=base + timedelta(seconds=offset) - report_window)
                watched.append(incident.id)
            finish_by = time.monotonic() + DELAY_SPREAD_SECONDS + 30
            while time.monotonic() < finish_by:
                db.session.rollback()
                pending = db.session.scalar(select(sa.func.count()).select_from(Deadline).where(
                    Deadline.incident_id.in_(watched), Deadline.kind == "report", Deadline.state == "pending"))
                if not pending:
                    break
                threading.Event().wait(0.5)
            rows = db.session.execute(select(Deadline.due_at, Deadline.breached_at).where(
                Deadline.incident_id.in_(watched), Deadline.kind == "report")).all()
            delays = [(r.breached_at - r.due_at).total_seconds() for r in rows if r.breached_at]
            runner.shutdown()
            figures["delay_samples"] = len(delays)
            figures["delay_p50_ms"] = percentile(delays, 0.5) * 1000
            figures["delay_p99_ms"] = percentile(delays, 0.99) * 1000
            figures["delay_max_ms"] = max(delays) * 1000
            bare_delays = bare_apscheduler_delay()
            figures["bare_apscheduler_p50_ms"] = percentile(bare_delays, 0.5) * 1000
            figures["bare_apscheduler_p99_ms"] = percentile(bare_delays, 0.99) * 1000

            # 3. start-up catch-up: every incident owes all 7 kinds, all overdue by 5 minutes
            db.session.rollback()
            now = utcnow()
            db.session.execute(sa.delete(Deadline).where(Deadline.incident_id.in_(watched)))
            db.session.execute(update(Deadline).values(
                state="pending", met_at=None, breached_at=None, warned_at=None, escalated_at=None,
                due_at=now - timedelta(minutes=5), warn_at=now - timedelta(minutes=6),
                escalate_at=now + timedelta(minutes=25)))
            have = set(db.session.execute(select(Deadline.incident_id, Deadline.kind)).tuples())
            ids = sorted({i for i, _ in have})
            missing = [
                {"incident_id": i, "kind": k.value, "starts_at": now - timedelta(hours=1),
                 "due_at": now - timedelta(minutes=5), "warn_at": now - timedelta(minutes=6),
                 "escalate_at": now + timedelta(minutes=25), "state": "pending", "policy_version": "bench",
                 "created_at": now, "updated_at": now}
                for i in ids for k in DeadlineKind if (i, k.value) not in have
            ]
            if missing:
                db.session.execute(insert(Deadline), missing)
            db.session.commit()
            overdue = db.session.scalar(select(sa.func.count()).select_from(Deadline).where(Deadline.state == "pending"))
            figures["catchup_overdue"] = overdue

            started = time.perf_counter()
            db.session.execute(update(Deadline).where(Deadline.state == "pending", Deadline.due_at <= utcnow())
                               .values(state="breached", breached_at=utcnow()))
            figures["catchup_bare_update_s"] = time.perf_counter() - started
            db.session.rollback()
            # The set-up above left ~150,000 dead row versions that a real start-up after
            # downtime would not see (autovacuum runs meanwhile): tidy up as autovacuum would.
            tidy_up(db.engine)

            runner = DeadlineScheduler(app, poll_seconds=1.0)
            caught_up = threading.Event()
            judged = []
            runner.on_pass(lambda result: (judged.append(len(result.breached)), caught_up.set()))
            started = time.perf_counter()
            runner.start()
            caught_up.wait(300)
            figures["catchup_s"] = time.perf_counter() - started
            runner.shutdown()
            figures["catchup_breached"] = judged[0] if judged else 0
            db.session.rollback()
            figures["catchup_timeline_events"] = db.session.scalar(select(sa.func.count()).select_from(
                sa.table("timeline_events", sa.column("kind"))).where(sa.column("kind") == "deadline_breached"))
        with app.app_context():
            db.engine.dispose()
    return figures


def print_figures(f: dict) -> None:
    print(f"\n== {f['backend']}: {f['incidents']:,} open incidents, {f['deadline_rows']:,} deadline rows ==")
    print(f"declaration        {f['declare_total_s']:.1f} s total; {f['declare_ms_mean']:.2f} ms mean, "
          f"{f['declare_ms_p99']:.2f} ms p99 per incident   (bare, no deadlines: {f['declare_bare_ms_mean']:.2f} ms mean)")
    print(f"due -> breach      p50 {f['delay_p50_ms']:.0f} ms, p99 {f['delay_p99_ms']:.0f} ms, max {f['delay_max_ms']:.0f} ms "
          f"over {f['delay_samples']} deadlines   (bare APScheduler job: p50 {f['bare_apscheduler_p50_ms']:.1f} ms, "
          f"p99 {f['bare_apscheduler_p99_ms']:.1f} ms)   target p99 < 1000 ms")
    print(f"start-up catch-up  {f['catchup_s']:.2f} s for {f['catchup_breached']:,} of {f['catchup_overdue']:,} overdue "
          f"({f['catchup_timeline_events']:,} timeline events + alerts)   (bare UPDATE alone: {f['catchup_bare_update_s']:.2f} s)"
          f"   target < 10 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--incidents", type=int, default=10_000)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    logging.disable(logging.INFO)
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        print_figures(run(backend, args.incidents))


if __name__ == "__main__":
    main()
