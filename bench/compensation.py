"""Benchmark: the final compensation ledger for 1,000,000 affected subscribers.

    .venv/bin/python bench/compensation.py [--subscribers N] [--backend sqlite|postgresql|both]

For each backend: a fresh database built by the migrations, N subscribers inserted in bulk
(one INSERT … SELECT over a generated series), one recovered incident whose scope covers
all of them; then it times ``engine.finalise`` (the INSERT … SELECT of the ledger, the
totals, the timeline event) and its commit, the live preview's totals, and streaming the
final ledger as the billing CSV, and the follow-up job that queues the compensation
notices after closure (in its own transaction since issue 15). The bare baseline beside the ledger is a plain
INSERT … SELECT of (id, monthly_fee_fen) for the same rows into an unindexed scratch
table: the cost of touching N rows at all on that database. Target: ledger ≤ 3× bare.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import Role  # noqa: E402
from app.auth.service import create_user  # noqa: E402
from app.compensation import engine, followup, ledger  # noqa: E402
from app.compensation.money import fen_to_yuan  # noqa: E402
from app.extensions import db  # noqa: E402
from app.db_types import UTCDateTime  # noqa: E402
from app.incidents.models import Incident, Responsibility  # noqa: E402
from app.policy import current_policy  # noqa: E402

POSTGRES_BASE_URL = os.environ.get("NOC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DETECTED = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)

SQLITE_FILL = """
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count)
INSERT INTO subscribers (id, phone, name, region, monthly_fee_fen, language, created_at, updated_at)
SELECT n, '+86138' || printf('%08d', n), '', CASE n % 2 WHEN 0 THEN '杭州' ELSE '宁波' END,
       1000 + (n * 7919) % 20000, 'zh-CN', '2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000'
FROM seq
"""
POSTGRES_FILL = """
INSERT INTO subscribers (id, phone, name, region, monthly_fee_fen, language, created_at, updated_at)
SELECT n, '+86138' || lpad(n::text, 8, '0'), '', CASE n % 2 WHEN 0 THEN '杭州' ELSE '宁波' END,
       1000 + (n::bigint * 7919) % 20000, 'zh-CN', '2026-11-01', '2026-11-01'
FROM generate_series(1, :count) AS n
"""
SERVICES_FILL = [
    "INSERT INTO subscriber_services (subscriber_id, service) "
    "SELECT id, CASE id % 3 WHEN 0 THEN 'fixed_voice' ELSE 'mobile_data' END FROM subscribers",
    "INSERT INTO subscriber_services (subscriber_id, service) SELECT id, 'broadband' FROM subscribers WHERE id % 5 = 0",
]


def _timed(label: str, action, results: dict):
    start = time.perf_counter()
    value = action()
    results[label] = time.perf_counter() - start
    return value


def _create_database(backend: str) -> tuple[str, callable]:
    if backend == "sqlite":
        path = Path(f"/tmp/bench-compensation-{uuid.uuid4().hex[:8]}.db")
        return f"sqlite:///{path}", lambda: [p.unlink(missing_ok=True) for p in path.parent.glob(path.name + "*")]
    name = f"bench_compensation_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return POSTGRES_BASE_URL.rsplit("/", 1)[0] + f"/{name}", drop


def _fill(backend: str, count: int) -> None:
    db.session.execute(sa.text(SQLITE_FILL if backend == "sqlite" else POSTGRES_FILL), {"count": count})
    for statement in SERVICES_FILL:
        db.session.execute(sa.text(statement))
    if backend == "postgresql":
        db.session.execute(sa.text("SELECT setval('subscribers_id_seq', :count)"), {"count": count})
    db.session.commit()
    if backend == "postgresql":
        # A province's subscriber tables are autovacuumed long before an outage: without it
        # every index-only scan of the fresh rows fetches the heap (an artefact of the setup).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE subscribers"))
            connection.execute(sa.text("VACUUM ANALYZE subscriber_services"))
    _settle(backend)


def _settle(backend: str) -> None:
    """Write out the setup's dirty pages now, so no timed step pays for the setup's I/O."""
    if backend == "postgresql":
        db.session.execute(sa.text("CHECKPOINT"))
    else:
        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    db.session.commit()


def _incident() -> Incident:
    user, _ = create_user(f"bench-{uuid.uuid4().hex[:6]}", Role.duty_manager)
    incident = Incident(
        number="INC-20261123-0001", title="杭州宁波数据中断", description="", services=["mobile_data", "fixed_voice"],
        regions=["杭州", "宁波"], level=2, proposed_level=2, major=False, status="recovered", detected_at=DETECTED,
        recovered_at=DETECTED + timedelta(minutes=545), policy_version=current_policy().version, created_by=user.id,
        created_at=DETECTED, updated_at=DETECTED,
        responsibilities=[
            Responsibility(category="technical", sub_cause="equipment_failure", party="网络部", share=70),
            Responsibility(category="external", sub_cause="power_outage", party="市电力公司", share=30),
        ],
    )
    db.session.add(incident)
    db.session.commit()
    return incident


def _bare_baseline(results: dict) -> None:
    db.session.execute(sa.text("CREATE TABLE bench_bare (subscriber_id BIGINT, monthly_fee_fen BIGINT)"))
    db.session.commit()

    def run():
        db.session.execute(sa.text("INSERT INTO bench_bare SELECT id, monthly_fee_fen FROM subscribers"))
        db.session.commit()

    _timed("bare INSERT … SELECT of the same rows", run, results)


def _bare_notices(incident_id: int, results: dict) -> None:
    """The fair floor of the follow-up job: a bare INSERT … SELECT of the same subscribers into the
    outbox table itself (its keys and partial indexes), no scope, opt-out, ON CONFLICT or texts."""
    now = sa.bindparam("now", datetime.now(timezone.utc), type_=UTCDateTime())

    def run():
        db.session.execute(sa.text(
            "INSERT INTO notices (batch_id, incident_id, kind, sequence, subscriber_id, status, attempts, "
            "next_attempt_at, updated_at) SELECT 0, :incident, 'bare', 1, id, 'queued', 0, :now, :now "
            "FROM subscribers").bindparams(now), {"incident": incident_id})
        db.session.commit()

    _timed("bare INSERT … SELECT into notices (same table)", run, results)


def _stream_csv(incident_id: int) -> int:
    _, chunks = ledger.billing_csv(incident_id)
    return sum(chunk.count("\n") for chunk in chunks) - 1  # less the header


def run(backend: str, count: int) -> None:
    url, drop = _create_database(backend)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade()
            results: dict[str, float] = {}
            _timed(f"setup: {count:,} subscribers in bulk", lambda: _fill(backend, count), results)
            incident = _incident()
            _bare_baseline(results)
            _settle(backend)

            def preview_totals():
                return ledger.compensation_of(incident.id)["totals"]

            preview = _timed("preview totals, first view (computes the profile)", preview_totals, results)
            _timed("preview totals, next view (cached profile)", preview_totals, results)
            _timed("preview first page of 20 rows (GET …/compensation)",
                   lambda: ledger.compensation_page(incident.id, 1, 20), results)

            def finalise():
                written = engine.finalise(incident, current_policy())
                db.session.commit()
                return written

            written = _timed("FINAL LEDGER: engine.finalise + commit", finalise, results)
            _settle(backend)
            _timed("follow-up job: queue the compensation notices", followup.queue_pending, results)
            _bare_notices(incident.id, results)
            _timed("final totals (closed, GET …/compensation)", preview_totals, results)
            streamed = _timed("billing CSV: stream every row", lambda: _stream_csv(incident.id), results)
            totals = engine.final_totals(incident.id)
        print(f"\n== {backend}: {count:,} affected subscribers ==")
        for label, seconds in results.items():
            print(f"  {label:<48} {seconds:8.2f} s")
        bare = results["bare INSERT … SELECT of the same rows"]
        for label in ("FINAL LEDGER: engine.finalise + commit", "follow-up job: queue the compensation notices"):
            print(f"  ratio {label.strip()} / bare INSERT … SELECT: {results[label] / bare:5.1f}×")
        print(f"  ratio follow-up job / bare INSERT … SELECT into notices: "
              f"{results['follow-up job: queue the compensation notices'] / results['bare INSERT … SELECT into notices (same table)']:5.1f}×")
        print(f"  load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        print(f"  ledger rows written: {written:,}; CSV rows streamed: {streamed:,}")
        print(f"  totals: economic {fen_to_yuan(totals['economic_credit_fen'])} CNY, data {totals['data_credit_gb']:,} GB"
              f" (preview said {preview['economic_credit']} CNY, {preview['data_credit_gb']:,} GB)")
        assert written == count and totals["subscribers"] == count
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run(backend, args.subscribers)


if __name__ == "__main__":
    main()
