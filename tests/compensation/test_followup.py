"""The compensation notices are queued by a follow-up job after closure, not by the closing
transaction: a crash between the two, or inside the job, loses nothing and doubles nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import Role
from app.clock import utcnow
from app.compensation import followup
from app.compensation.models import CompensationLedger
from app.compensation.notices import NOTICE_KIND, queue_compensation_notices
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import Status
from app.notify.models import Notice
from app.subscribers.models import Subscriber
from tests import factories


@pytest.fixture
def closed(app_ctx, make_user):
    """A closed incident of 3 hours over 4 data subscribers in 杭州 (all credited), and one in 宁波."""
    factories.subscribers(factories.phones(4), services=["mobile_data"])
    factories.subscribers(factories.phones(1, start=50), region="宁波", services=["mobile_data"])
    db.session.commit()
    manager, _ = make_user(Role.duty_manager)
    incident = factories.incident_in(Status.closed, manager, services=["mobile_data"], regions=["杭州"],
                                     detected_at=utcnow() - timedelta(hours=3))
    return incident.id


def _notices(incident_id: int) -> list[int]:
    return list(db.session.scalars(sa.select(Notice.subscriber_id).where(
        Notice.incident_id == incident_id, Notice.kind == NOTICE_KIND).order_by(Notice.subscriber_id)))


def _hangzhou() -> list[int]:
    return list(db.session.scalars(sa.select(Subscriber.id).where(Subscriber.region == "杭州").order_by(Subscriber.id)))


def _header(incident_id: int) -> CompensationLedger:
    db.session.expire_all()
    return db.session.get(CompensationLedger, incident_id)


def test_closure_leaves_the_notices_to_the_job_which_queues_them_once(closed):
    assert _notices(closed) == []
    assert _header(closed).notices_queued_at is None
    assert followup.queue_pending() == [closed]
    assert _notices(closed) == _hangzhou()
    assert _header(closed).notices_queued_at is not None
    # a second run (the next scheduler pass, a second scheduler) finds nothing to do
    assert followup.queue_pending() == []
    assert _notices(closed) == _hangzhou()


def test_a_crash_inside_the_job_queues_nothing_and_the_next_run_queues_everything(closed, monkeypatch):
    def power_cut():
        raise RuntimeError("power cut")

    # after the notices were inserted, before the header is marked and committed
    monkeypatch.setattr("app.compensation.followup.utcnow", power_cut)
    with pytest.raises(RuntimeError):
        followup.queue_pending()
    assert _notices(closed) == []
    assert _header(closed).notices_queued_at is None

    monkeypatch.undo()
    assert followup.queue_pending() == [closed]
    assert _notices(closed) == _hangzhou()


def test_notices_already_queued_for_some_are_not_queued_twice(closed):
    # e.g. a job that queued, committed its notices, and died before marking the header in an
    # older layout: the re-run adds only the missing subscribers.
    first = _hangzhou()[:1]
    queue_compensation_notices(incidents.get_incident(closed), sa.select(Subscriber.id).where(Subscriber.id.in_(first)))
    db.session.commit()
    assert _notices(closed) == first
    assert followup.queue_pending() == [closed]
    assert _notices(closed) == _hangzhou()  # each subscriber exactly once


def test_the_job_skips_a_ledger_another_process_is_queueing(closed, app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) are PostgreSQL's; SQLite has one writer at a time")
    with db.engine.connect() as other:
        other.execute(sa.text("SELECT 1 FROM compensation_ledgers WHERE incident_id = :id FOR UPDATE"), {"id": closed})
        assert followup.queue_pending() == []  # not blocked, not duplicated: the holder does it
        other.rollback()
    assert followup.queue_pending() == [closed]
    assert _notices(closed) == _hangzhou()


def test_the_scheduler_pass_runs_the_job(closed, app_ctx):
    from app.scheduling.runner import DeadlineScheduler

    runner = DeadlineScheduler(app_ctx)
    runner._one_pass()  # one judging pass, as the active scheduler runs it every tick
    assert runner.last_error is None
    assert _notices(closed) == _hangzhou()
