"""The deadline scheduler: APScheduler jobs derived from the deadline table.

The table is the source of truth; the in-memory job store holds derived jobs:

- ``deadline-watch`` every ``poll`` seconds: keeps (or takes over) leadership, and re-reads
  the next moment anything becomes judgeable — this is how deadlines written by another
  process (the web process, in a deployment) are found;
- ``deadline-judge`` a one-off job at exactly that next moment: judges, then re-plans
  itself for the following moment;
- ``plan-review-reminders`` every five minutes, leader only: the emergency plans' review
  reminders (``app/plans/reminders.py``, idempotent).

A commit in this process that changed deadlines wakes the planner at once, so a short
window created here is judged on time, not on the next poll. Losing the jobs loses
nothing: on (re)start or on becoming leader the first pass judges everything overdue.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.compensation import followup as compensation_followup
from app.extensions import db
from app.ops.heartbeats import Heartbeat
from app.plans.reminders import remind_due_reviews
from app.scheduling.judge import JudgeResult, judge_due, next_wake_time
from app.scheduling.leadership import leadership_for
from app.scheduling.service import CHANGED_FLAG

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 1.0
PLAN_REMINDER_SECONDS = 300   # a reminder is days ahead: every five minutes is plenty
# APScheduler logs every run of the one-second watch at INFO: keep its warnings only.
for _noisy in ("apscheduler.scheduler", "apscheduler.executors.default"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)
_running: "weakref.WeakSet[DeadlineScheduler]" = weakref.WeakSet()


class DeadlineScheduler:
    def __init__(self, app: Flask, *, poll_seconds: float | None = None) -> None:
        self.app = app
        self.poll_seconds = float(poll_seconds or app.config.get("NOC_SCHEDULER_POLL_SECONDS")
                                  or os.environ.get("NOC_SCHEDULER_POLL_SECONDS") or DEFAULT_POLL_SECONDS)
        # Rows judged per transaction (NOC_JUDGE_BATCH): smaller keeps SQLite's write lock shorter;
        # unset, the judge's default for the database (app/scheduling/judge.py).
        configured = app.config.get("NOC_JUDGE_BATCH") or os.environ.get("NOC_JUDGE_BATCH")
        self.batch = int(configured) if configured else None
        self.scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        with app.app_context():
            self.leadership = leadership_for(db.engine, int(app.config.get("NOC_DB_CONNECT_TIMEOUT_SECONDS", 5)))
        self.heartbeat = Heartbeat(app, "scheduler", role=lambda: "active" if self.is_leader else "standby")
        self.is_leader = False
        self.last_pass_at: datetime | None = None
        self.next_judge_at: datetime | None = None
        self.last_error: str | None = None
        self._state_lock = threading.Lock()
        self._pass_done = threading.Condition(self._state_lock)
        self._stopping = False
        self._in_pass = False
        self._again = False
        self._listeners: list[Callable[[JudgeResult], None]] = []

    # --- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        self.scheduler.add_job(self._watch, IntervalTrigger(seconds=self.poll_seconds, timezone=timezone.utc),
                               id="deadline-watch", next_run_time=datetime.now(timezone.utc))
        # After the first watch has settled leadership; idempotent, so a late or doubled run costs nothing.
        self.scheduler.add_job(self._remind_plan_reviews, IntervalTrigger(seconds=PLAN_REMINDER_SECONDS,
                                                                          timezone=timezone.utc),
                               id="plan-review-reminders",
                               next_run_time=datetime.now(timezone.utc) + timedelta(seconds=2 * self.poll_seconds))
        self.scheduler.start()
        self.heartbeat.start()
        _running.add(self)
        log.info("deadline scheduler started (%s, poll %.1fs)", self.leadership.kind, self.poll_seconds)

    def shutdown(self, timeout: float = 60) -> None:
        _running.discard(self)
        self._stopping = True
        self.heartbeat.stop()
        if self.scheduler.running:
            # Not wait=True: APScheduler would hold its job-store lock while waiting for a pass
            # that itself needs that lock to plan the next job. Wait for the pass ourselves.
            self.scheduler.shutdown(wait=False)
        with self._pass_done:
            self._pass_done.wait_for(lambda: not self._in_pass, timeout=timeout)
        self.leadership.release()
        self.is_leader = False
        log.info("deadline scheduler stopped")

    @property
    def running(self) -> bool:
        return self.scheduler.running

    def on_pass(self, listener: Callable[[JudgeResult], None]) -> None:
        """Call ``listener(result)`` after every judging pass (health, tests)."""
        self._listeners.append(listener)

    def wake(self) -> None:
        """Re-plan now: deadlines changed in this process may fall due before the planned job."""
        if self.scheduler.running and self.is_leader:
            self._plan_judge(datetime.now(timezone.utc))

    def _plan_judge(self, run_date: datetime) -> None:
        if self._stopping:
            return
        # A wake-up while a pass runs must not be skipped by APScheduler (that would cost a
        # whole poll interval): extra instances return at once, asking the running pass to go again.
        self.scheduler.add_job(self._judge_and_plan, DateTrigger(run_date=run_date), id="deadline-judge",
                               replace_existing=True, max_instances=16)

    # --- jobs -------------------------------------------------------------------------
    def _watch(self) -> None:
        was_leader = self.is_leader
        self.is_leader = self.leadership.ensure()
        if self.is_leader:
            if not was_leader:
                log.info("deadline scheduler active: judging everything that fell due meanwhile")
            # The pass runs as the judge job, so a long catch-up never blocks this tick.
            self._plan_judge(datetime.now(timezone.utc))
        elif was_leader:
            self.next_judge_at = None
            self._drop_judge_job()

    def _remind_plan_reviews(self) -> None:
        """The emergency plans' review reminders (app/plans/reminders.py), by the leader only."""
        if not self.is_leader or self._stopping:
            return
        with self.app.app_context():
            try:
                remind_due_reviews()
            except Exception:  # noqa: BLE001 - retried on the next run
                db.session.rollback()
                log.exception("plan review reminders failed; retrying on the next run")

    def _drop_judge_job(self) -> None:
        if not self._stopping and self.scheduler.get_job("deadline-judge"):
            self.scheduler.remove_job("deadline-judge")

    def _judge_and_plan(self) -> None:
        """One judging pass, then plan the next. Wake-ups during a pass coalesce into one re-run."""
        if not self.is_leader or self._stopping:
            return
        with self._state_lock:
            if self._in_pass:
                self._again = True
                return
            self._in_pass, self._again = True, False
        try:
            while True:
                self._one_pass()
                with self._state_lock:
                    if not self._again or self._stopping:
                        self._in_pass = False
                        self._pass_done.notify_all()
                        return
                    self._again = False
        except BaseException:
            with self._state_lock:
                self._in_pass = False
                self._pass_done.notify_all()
            raise

    def _one_pass(self) -> None:
        with self.app.app_context():
            try:
                result = judge_due(batch=self.batch)
                # Follow-up work of transitions, idempotent (leader only, like judging).
                compensation_followup.queue_pending()
                upcoming = next_wake_time()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - a failed pass is retried on the next tick
                log.exception("deadline judging failed; retrying on the next tick")
                self.last_error = f"{type(exc).__name__}: {exc}"
                return
            self.last_pass_at = utcnow()
        if self._stopping:
            return
        if upcoming is not None and (self.next_judge_at != upcoming or not self.scheduler.get_job("deadline-judge")):
            self.next_judge_at = upcoming
            self._plan_judge(upcoming)
        elif upcoming is None:
            self.next_judge_at = None
        for listener in list(self._listeners):
            listener(result)

    def status(self) -> dict:
        return {
            "running": self.running,
            "role": ("active" if self.is_leader else "standby") if self.running else "stopped",
            "leadership": self.leadership.kind,
            "last_pass_at": self.last_pass_at.isoformat() if self.last_pass_at else None,
            "next_judge_at": self.next_judge_at.isoformat() if self.next_judge_at else None,
            "last_error": self.last_error,
        }


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(CHANGED_FLAG, False):
        for runner in list(_running):
            runner.wake()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(CHANGED_FLAG, None)


def start_in_process(app: Flask) -> DeadlineScheduler:
    """The embedded default: ``flask serve`` runs the scheduler in its own process."""
    runner = app.extensions.get("noc_scheduler")
    if runner is None or not runner.running:
        runner = DeadlineScheduler(app)
        runner.start()
        app.extensions["noc_scheduler"] = runner
    return runner
