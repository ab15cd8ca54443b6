"""0025: ledger entries move into per-incident partitions on PostgreSQL (and back on downgrade);
the notices' complaint key becomes a partial unique index on both databases."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db
from tests.conftest import BACKENDS, _create_postgres_database, _drop_postgres_database

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
BASE = 10_000_000_000


@pytest.fixture(params=BACKENDS)
def unmigrated_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'steps.db'}"
        return
    url = _create_postgres_database()
    yield url
    _drop_postgres_database(url)


def _entries_at_0016() -> list[int]:
    """Two incidents with ledger entries (plain SQL: the tables as they stood at 0016)."""
    tables = sa.MetaData()
    tables.reflect(db.engine, only=("users", "incidents", "compensation_entries", "compensation_ledgers"))
    users, incidents, entries = (tables.tables[n] for n in ("users", "incidents", "compensation_entries"))
    with db.engine.begin() as connection:
        user_id = connection.execute(users.insert().values(
            name="值班经理", role="duty_manager", on_call=False, active=True, created_at=NOW)).inserted_primary_key[0]
        ids = []
        for n in (1, 2):
            incident_id = connection.execute(incidents.insert().values(
                number=f"INC-20261123-000{n}", title="t", description="", services=["iptv"], regions=["宁波"],
                level=3, proposed_level=3, major=False, status="closed", detected_at=NOW, policy_version="v1",
                created_by=user_id, created_at=NOW, updated_at=NOW, row_version=1)).inserted_primary_key[0]
            ids.append(incident_id)
            for subscriber_id in (7, 9):
                connection.execute(entries.insert().values(
                    id=incident_id * BASE + subscriber_id, incident_id=incident_id, subscriber_id=subscriber_id,
                    monthly_fee_fen=5800, outage_minutes=100, operator_share=100, multiplier=1, data_service=True,
                    policy_version="v1", economic_credit_fen=100 + subscriber_id, data_credit_gb=1, computed_at=NOW))
    return ids


def _notices_complaint_key_is_partial() -> bool:
    indexes = {i["name"]: i for i in sa.inspect(db.engine).get_indexes("notices")}
    key = indexes.get("uq_notices_complaint_id_kind_sequence")
    if key is None:
        return False
    where = key.get("dialect_options", {}).get(f"{db.engine.dialect.name}_where")
    if where is None and db.engine.dialect.name == "sqlite":   # older reflection: read the DDL
        sql = db.session.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'uq_notices_complaint_id_kind_sequence'"))
        return "WHERE complaint_id IS NOT NULL" in sql
    return key["unique"] and "complaint_id IS NOT NULL" in str(where)


def test_0025_moves_entries_into_partitions_and_back(unmigrated_url):
    application = create_app({"SQLALCHEMY_DATABASE_URI": unmigrated_url, "TESTING": True})
    with application.app_context():
        upgrade(revision="0016")
        ids = _entries_at_0016()
        upgrade(revision="0025")
        rows = db.session.execute(sa.text("SELECT id, economic_credit_fen FROM compensation_entries ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(i * BASE + s, 100 + s) for i in ids for s in (7, 9)]
        assert _notices_complaint_key_is_partial()
        if db.engine.dialect.name == "postgresql":
            partitions = db.session.scalars(sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'compensation_entries'::regclass ORDER BY 1")).all()
            assert partitions == [f"compensation_entries_i{i}" for i in ids]
            # the ledger is still never overwritten, partition or not
            with pytest.raises(sa.exc.DatabaseError, match="never overwritten"):
                db.session.execute(sa.text("UPDATE compensation_entries SET economic_credit_fen = 0"))
            db.session.rollback()
        db.session.remove()
        downgrade(revision="0016")
        rows = db.session.execute(sa.text("SELECT id, economic_credit_fen FROM compensation_entries ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(i * BASE + s, 100 + s) for i in ids for s in (7, 9)]
        assert not _notices_complaint_key_is_partial()
        db.session.remove()
        db.engine.dispose()
