"""The migrations and the models describe the same schema, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from flask_migrate import upgrade

from app import create_app
from app.compensation import engine, partitions
from app.extensions import db
from app.incidents.models import TimelineEvent
from tests.conftest import BACKENDS, _create_postgres_database, _drop_postgres_database


def test_models_and_migrations_do_not_drift(app_ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": partitions.include_object})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations differ; run flask db migrate: {differences}"


def test_the_database_refuses_to_change_or_delete_timeline_events(app_ctx, operator_api):
    incident = operator_api.post("/incidents", json={"title": "t", "services": ["iptv"], "regions": ["宁波"]}).json
    event_id = operator_api.get(f"/incidents/{incident['id']}/timeline").json[0]["id"]
    table = TimelineEvent.__table__
    for statement in (
        table.update().where(table.c.id == event_id).values(message="改写"),
        table.delete().where(table.c.id == event_id),
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(statement)
            db.session.flush()
        db.session.rollback()
    assert operator_api.get(f"/incidents/{incident['id']}/timeline").json[0]["message"].startswith("登记故障")


@pytest.fixture(params=BACKENDS)
def unmigrated_url(request, tmp_path):
    """An empty database of its own, for walking the migrations step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'steps.db'}"
        return
    url = _create_postgres_database()
    yield url
    _drop_postgres_database(url)


def test_0006_makes_the_ledger_header_from_the_finalised_timeline_event(unmigrated_url):
    """A ledger finalised before 0006 is known only by its timeline event: the migration turns
    the first such event of each incident into the incident's header row."""
    application = create_app({"SQLALCHEMY_DATABASE_URI": unmigrated_url, "TESTING": True})
    terms = {"policy_version": "v1+abc", "outage_minutes": 150, "operator_share": 70,
             "recovery_window_breached": True, "multiplier": 2, "below_minimum_outage": False,
             "data_credit_gb_per_data_subscriber": 3, "subscribers": 2, "economic_credit_fen": 1234,
             "data_credit_gb": 6}
    with application.app_context():
        upgrade(revision="0005")
        # Written with plain SQL against the tables as they stood at 0005: the models describe
        # the newest schema, which later revisions keep changing.
        ids, at = _rows_before_0006(terms)
        upgrade()
        header = engine.final_ledger(ids[0])
        assert {k: getattr(header, k) for k in terms} == terms
        assert (header.finalised_at, header.finalised_by) == (at, ids[2])
        assert engine.final_ledger(ids[1]) is None
        db.session.remove()
        db.engine.dispose()


def _rows_before_0006(terms: dict) -> tuple[tuple[int, int, int], datetime]:
    """A duty manager, two incidents and, on the first, two 'compensation_finalised' events."""
    tables = sa.MetaData()
    tables.reflect(db.engine, only=("users", "incidents", "timeline_events"))
    users, incident_rows, events = (tables.tables[name] for name in ("users", "incidents", "timeline_events"))
    now = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    with db.engine.begin() as connection:
        user_id = connection.execute(users.insert().values(
            name="值班经理", role="duty_manager", on_call=False, active=True, created_at=now)).inserted_primary_key[0]
        incident_ids = [connection.execute(incident_rows.insert().values(
            number=f"INC-20261123-000{n}", title=title, description="", services=["iptv"], regions=["宁波"],
            level=3, proposed_level=3, major=False, status="declared", detected_at=now, policy_version="v1+abc",
            created_by=user_id, created_at=now, updated_at=now, row_version=1)).inserted_primary_key[0]
            for n, title in enumerate("ab", start=1)]
        for offset, after in enumerate((terms, {**terms, "subscribers": 99})):  # a repeated event never wins
            connection.execute(events.insert().values(
                incident_id=incident_ids[0], kind="compensation_finalised", at=now + timedelta(minutes=offset),
                actor_id=user_id, actor_name="值班经理", message="补偿已结算", after=after))
    return (incident_ids[0], incident_ids[1], user_id), now
