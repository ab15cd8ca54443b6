"""The migrations and the models describe the same schema, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from app.incidents.models import TimelineEvent


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
