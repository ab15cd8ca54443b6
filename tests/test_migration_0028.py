"""0028: ledger entries drop the terms their header already holds (minutes, share, multiplier,
policy version, computed at); a downgrade copies them back from the header."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.compensation import ledger
from app.extensions import db
from tests.test_migration_0025 import unmigrated_url  # noqa: F401  (the fixture: an empty database per backend)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
BASE = 10_000_000_000
TERMS = {"outage_minutes": 150, "operator_share": 70, "multiplier": 2, "policy_version": "v1+abc"}


def _ledger_at_0026() -> int:
    """One closed incident with its header and two entries (plain SQL: the tables as at 0026)."""
    tables = sa.MetaData()
    tables.reflect(db.engine, only=("users", "incidents", "subscribers", "compensation_entries", "compensation_ledgers"))
    users, incidents, subscribers, entries, headers = (tables.tables[n] for n in (
        "users", "incidents", "subscribers", "compensation_entries", "compensation_ledgers"))
    with db.engine.begin() as connection:
        user_id = connection.execute(users.insert().values(
            name="值班经理", role="duty_manager", on_call=False, active=True, created_at=NOW)).inserted_primary_key[0]
        incident_id = connection.execute(incidents.insert().values(
            number="INC-20261123-0001", title="t", description="", services=["iptv"], regions=["宁波"], level=3,
            proposed_level=3, major=False, status="closed", detected_at=NOW, policy_version="v1+abc",
            created_by=user_id, created_at=NOW, updated_at=NOW, row_version=1)).inserted_primary_key[0]
        connection.execute(headers.insert().values(
            incident_id=incident_id, finalised_at=NOW, finalised_by=user_id, recovery_window_breached=True,
            below_minimum_outage=False, data_credit_gb_per_data_subscriber=1, subscribers=2, credited_subscribers=2,
            economic_credit_fen=216, data_credit_gb=2, **TERMS))
        if connection.dialect.name == "postgresql":   # the incident's partition, as closure makes it
            low = incident_id * BASE
            connection.execute(sa.text(f"CREATE TABLE compensation_entries_i{incident_id} PARTITION OF "
                                       f"compensation_entries FOR VALUES FROM ({low}) TO ({low + BASE})"))
        for subscriber_id in (7, 9):
            connection.execute(subscribers.insert().values(
                id=subscriber_id, phone=f"+861380000000{subscriber_id}", name="", region="宁波", monthly_fee_fen=5800,
                language="zh-CN", created_at=NOW, updated_at=NOW))
            connection.execute(entries.insert().values(
                id=incident_id * BASE + subscriber_id, incident_id=incident_id, subscriber_id=subscriber_id,
                monthly_fee_fen=5800, data_service=True, economic_credit_fen=100 + subscriber_id, data_credit_gb=1,
                computed_at=NOW, **TERMS))
    return incident_id


def test_0028_moves_the_entries_terms_to_the_header_and_back(unmigrated_url):  # noqa: F811
    application = create_app({"SQLALCHEMY_DATABASE_URI": unmigrated_url, "TESTING": True})
    with application.app_context():
        upgrade(revision="0026")
        incident_id = _ledger_at_0026()
        upgrade(revision="0028")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("compensation_entries")}
        assert columns == {"id", "incident_id", "subscriber_id", "monthly_fee_fen", "data_service",
                           "economic_credit_fen", "data_credit_gb"}
        # every reader still gives each row the terms, now from the header
        rows = db.session.execute(ledger.final_rows(incident_id)).all()
        assert [(r.subscriber_id, r.outage_minutes, r.operator_share, r.multiplier, r.policy_version,
                 r.economic_credit_fen) for r in rows] == [(s, 150, 70, 2, "v1+abc", 100 + s) for s in (7, 9)]
        detail = ledger.entry_detail(ledger.get_entry(incident_id * BASE + 7))
        assert (detail["outage_minutes"], detail["multiplier"], detail["versions"][0]["at"]) == (150, 2, NOW)
        db.session.remove()
        downgrade(revision="0026")
        rows = db.session.execute(sa.text(
            "SELECT id, outage_minutes, operator_share, multiplier, policy_version, economic_credit_fen "
            "FROM compensation_entries ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(incident_id * BASE + s, 150, 70, 2, "v1+abc", 100 + s) for s in (7, 9)]
        # and the entries are guarded again
        try:
            db.session.execute(sa.text("UPDATE compensation_entries SET economic_credit_fen = 0"))
            db.session.flush()
            raised = False
        except sa.exc.DatabaseError as exc:
            raised = "never overwritten" in str(exc)
        assert raised
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
