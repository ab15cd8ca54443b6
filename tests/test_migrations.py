"""The migrations and the models describe the same schema, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.compensation import engine
from app.extensions import db
from app.incidents.models import TimelineEvent
from tests.conftest import BACKENDS, empty_database


def test_models_and_migrations_do_not_drift(app_ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
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
    yield from empty_database(request.param, tmp_path)


def test_0006_makes_the_ledger_header_from_the_finalised_timeline_event(unmigrated_url):
    """A ledger finalised before 0006 is known only by its timeline event: the migration turns
    the first such event of each incident into the incident's header row. The rows are written
    with the tables as they were at 0005 (today's models may have more columns)."""
    application = create_app({"SQLALCHEMY_DATABASE_URI": unmigrated_url, "TESTING": True})
    terms = {"policy_version": "v1+abc", "outage_minutes": 150, "operator_share": 70,
             "recovery_window_breached": True, "multiplier": 2, "below_minimum_outage": False,
             "data_credit_gb_per_data_subscriber": 3, "subscribers": 2, "economic_credit_fen": 1234,
             "data_credit_gb": 6}
    at = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    with application.app_context():
        upgrade(revision="0005")
        tables = sa.MetaData()
        tables.reflect(db.engine, only=["users", "incidents", "timeline_events"])
        users, incidents, events = (tables.tables[name] for name in ("users", "incidents", "timeline_events"))
        with db.engine.begin() as connection:
            connection.execute(users.insert().values(id=7, name="值班经理", role="duty_manager", on_call=False,
                                                     active=True, created_at=at))
            connection.execute(incidents.insert(), [
                {"id": n, "number": f"INC-20261123-000{n}", "title": "t", "description": "", "services": ["iptv"],
                 "regions": ["宁波"], "level": 3, "proposed_level": 3, "major": False, "status": "closed",
                 "detected_at": at, "policy_version": "v1+abc", "created_by": 7, "created_at": at,
                 "updated_at": at, "row_version": 1} for n in (1, 2)])
            connection.execute(events.insert(), [  # incident 1 finalised (twice: the first event wins); 2 never
                {"incident_id": 1, "kind": "compensation_finalised", "at": at + timedelta(minutes=m), "actor_id": 7,
                 "actor_name": "值班经理", "message": "补偿已结算", "after": after}
                for m, after in ((1, terms), (2, {**terms, "subscribers": 99}))])
        upgrade()
        header = engine.final_ledger(1)
        assert {k: getattr(header, k) for k in terms} == terms
        assert (header.finalised_at, header.finalised_by) == (at + timedelta(minutes=1), 7)
        assert engine.final_ledger(2) is None
        db.session.remove()
        db.engine.dispose()
