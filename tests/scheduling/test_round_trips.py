"""Round trips of the hot paths (issue 15): the declaration and the catch-up send no statement they
can do without, and still do everything they did."""
from __future__ import annotations

import re
from contextlib import contextmanager

from freezegun import freeze_time
from sqlalchemy import event, select

from app.extensions import db
from app.models import PolicyVersion, record_policy_version
from app.policy import load_policy
from app.scheduling import judge
from app.scheduling.judge import judge_due
from app.scheduling.models import Deadline
from tests import factories
from tests.scheduling.walk import SECONDS_POLICY, T0, count, minutes, timeline_kinds


@contextmanager
def statements():
    sent: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def test_declaring_reads_the_policy_version_once_and_never_the_new_incidents_deadlines(make_user):
    operator, _ = make_user("operator")
    factories.declare(operator)  # the policy version is recorded by the first declaration
    with statements() as sent:
        incident = factories.declare(operator)
    assert sum("policy_versions" in s for s in sent) == 1
    assert not [s for s in sent if s.startswith("SELECT") and "FROM deadlines" in s]
    inserts = [s for s in sent if s.startswith("INSERT INTO deadlines")]
    assert len(inserts) == 1
    assert count(Deadline, Deadline.incident_id == incident.id) >= 3   # report, response, recovery at least


def test_a_rolled_back_policy_version_is_recorded_again(app_ctx):
    policy = load_policy(SECONDS_POLICY)
    record_policy_version(policy)
    db.session.rollback()               # the row added above is gone
    record_policy_version(policy)       # so this transaction must add it again
    db.session.commit()
    assert db.session.scalar(select(PolicyVersion.version).where(PolicyVersion.version == policy.version))


def test_a_policy_version_added_in_a_rolled_back_savepoint_is_recorded_again(app_ctx):
    policy = load_policy(SECONDS_POLICY)
    savepoint = db.session.begin_nested()
    record_policy_version(policy)
    db.session.flush()
    savepoint.rollback()                # only the savepoint: the outer transaction goes on
    record_policy_version(policy)
    db.session.commit()
    assert db.session.scalar(select(PolicyVersion.version).where(PolicyVersion.version == policy.version))


def test_judging_incident_deadlines_sends_nothing_for_complaints(make_user, on_call_manager):
    operator, _ = make_user("operator")
    with freeze_time(T0) as frozen:
        incident = factories.declare(operator, detected_at=T0)
        frozen.move_to(T0 + minutes(16))  # the 15-minute report window is past
        with statements() as sent:
            result = judge_due()
    assert result.breached and len(timeline_kinds(incident.id, "deadline_breached")) == len(result.breached)
    # No statement touches the complaints' tables (the deadlines' complaint_id column may be read).
    touching = [s[:300] for s in sent if re.search(r"\b(complaints|complaint_events)\b", s)]
    assert not touching, touching


def test_postgresql_judges_in_larger_batches_than_sqlite(make_user, on_call_manager, monkeypatch):
    monkeypatch.setattr(judge, "BATCH", 1)
    monkeypatch.setattr(judge, "BATCH_POSTGRESQL", 100)
    operator, _ = make_user("operator")
    with freeze_time(T0) as frozen:
        factories.declare(operator, detected_at=T0)
        factories.declare(operator, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        with statements() as sent:
            result = judge_due()
    breaching = [s for s in sent if "UPDATE deadlines SET state" in s]   # on PostgreSQL, inside the claim's CTE
    assert len(result.breached) >= 2
    expected = 1 if db.engine.dialect.name == "postgresql" else len(result.breached)
    assert len(breaching) == expected
