"""Benchmark: the final compensation ledger for 1,000,000 affected subscribers.

    .venv/bin/python bench/compensation.py [--subscribers N] [--backend sqlite|postgresql|both]
                                           [--repeat N] [--ledger-only]

For each backend: a fresh database built by the migrations, N subscribers inserted in bulk
(one INSERT … SELECT over a generated series), one recovered incident whose scope covers
all of them; then it times ``engine.finalise`` (the INSERT … SELECT of the ledger, the
totals, the timeline event) and its commit, the live preview's totals, and streaming the
final ledger as the billing CSV, and the follow-up job that queues the compensation
notices after closure (in its own transaction since issue 15).

The bare baselines beside the ledger, each an INSERT … SELECT of the same N subscribers into
an unindexed scratch table (no scope, no join, no arithmetic), interleaved with the ledger
runs so both see the same machine load:
- ``bare (id, fee)``: two BIGINT columns, the cost of touching N rows at all (the figure
  issue 15 set its target against: ledger ≤ 3× bare);
- ``bare, ledger row shape``: rows shaped like ``compensation_entries`` as it is now;
- ``bare, pre-0028 row shape``: rows shaped like the entries before migration 0028 moved
  the run's constants (minutes, share, multiplier, policy version, computed at) to the
  ledger header — the difference between the two is what the narrower row saves.
``--repeat N`` runs the ledger (undone between runs) and the bares N times and prints the
best of each; ``--ledger-only`` leaves out the follow-up job and the CSV.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import Role  # noqa: E402
from app.auth.service import create_user  # noqa: E402
from app.compensation import engine, followup, ledger  # noqa: E402
from app.compensation.models import CompensationLedger  # noqa: E402
from app.compensation.money import fen_to_yuan  # noqa: E402
from app.extensions import db  # noqa: E402
from app.db_types import UTCDateTime  # noqa: E402
from app.incidents.models import Incident, Responsibility  # noqa: E402
from app.policy import current_policy  # noqa: E402
from bench.catchup import counting  # noqa: E402

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


def _incident(n: int = 1) -> Incident:
    user, _ = create_user(f"bench-{uuid.uuid4().hex[:6]}", Role.duty_manager)
    incident = Incident(
        number=f"INC-20261123-{n:04d}", title="杭州宁波数据中断", description="", services=["mobile_data", "fixed_voice"],
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


BARE_SHAPES = {
    "bare (id, fee)": ("subscriber_id BIGINT, monthly_fee_fen BIGINT", "id, monthly_fee_fen"),
    "bare, ledger row shape": (
        "LIKE compensation_entries",
        # the same values the ledger's own columns get, by name, whatever the current shape
        None),
    "bare, pre-0028 row shape": (
        "id BIGINT NOT NULL, incident_id INTEGER NOT NULL, subscriber_id INTEGER NOT NULL, monthly_fee_fen BIGINT NOT NULL, "
        "outage_minutes INTEGER NOT NULL, operator_share INTEGER NOT NULL, multiplier INTEGER NOT NULL, "
        "data_service BOOLEAN NOT NULL, policy_version VARCHAR(60) NOT NULL, economic_credit_fen BIGINT NOT NULL, "
        "data_credit_gb INTEGER NOT NULL, computed_at TIMESTAMP WITH TIME ZONE NOT NULL",
        "10000000000 + id, 1, id, monthly_fee_fen, 545, 70, 2, true, '2026.1+0123abcd', monthly_fee_fen, 3, "
        "TIMESTAMP WITH TIME ZONE '2026-11-23 09:05:00+00'"),
}
# A plain value of each ledger column for the "ledger row shape" bare, by column name.
BARE_LEDGER_VALUES = {"id": "10000000000 + id", "incident_id": "1", "subscriber_id": "id",
                      "monthly_fee_fen": "monthly_fee_fen", "outage_minutes": "545", "operator_share": "70",
                      "multiplier": "2", "data_service": "true", "policy_version": "'2026.1+0123abcd'",
                      "economic_credit_fen": "monthly_fee_fen", "data_credit_gb": "3",
                      "computed_at": "TIMESTAMP WITH TIME ZONE '2026-11-23 09:05:00+00'"}


def _bare_statements(backend: str) -> dict[str, tuple[str, str]]:
    """Per bare label: (CREATE TABLE, INSERT … SELECT). SQLite gets the two-column bare only."""
    statements = {}
    for n, (label, (shape, values)) in enumerate(BARE_SHAPES.items()):
        if backend == "sqlite" and n:
            break
        table = f"bench_bare_{n}"
        if values is None:
            columns = [c["name"] for c in sa.inspect(db.engine).get_columns("compensation_entries")]
            values = ", ".join(BARE_LEDGER_VALUES[c] for c in columns)
        statements[label] = (f"CREATE TABLE {table} ({shape})", f"INSERT INTO {table} SELECT {values} FROM subscribers")
    return statements


def _bare_baselines(statements: dict[str, tuple[str, str]], results: dict) -> None:
    """Each bare INSERT … SELECT once, into a table made empty for it (so every run writes fresh pages)."""
    for label, (create, fill) in statements.items():
        table = create.split()[2]
        db.session.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        db.session.execute(sa.text(create))
        db.session.commit()

        def run():
            db.session.execute(sa.text(fill))
            db.session.commit()

        _timed(label, run, results)


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


FINAL = "FINAL LEDGER: engine.finalise + commit"
FOLLOW_UP = "follow-up job: queue the compensation notices"
BARE_NOTICES = "bare INSERT … SELECT into notices (same table)"


def _ledger_runs(backend: str, repeat: int, results: dict, shapes: dict) -> tuple[Incident, int]:
    """The final ledger ``repeat`` times, each for an incident of its own (a ledger is written once),
    each run after the bare baselines so product and bare see the same load; best of each kept."""
    bares = _bare_statements(backend)
    runs: dict[str, list[float]] = defaultdict(list)
    for n in range(1, repeat + 1):
        incident = _incident(n)
        _settle(backend)
        measured: dict[str, float] = {}
        _bare_baselines(bares, measured)
        _settle(backend)

        def finalise():
            written = engine.finalise(incident, current_policy())
            db.session.commit()
            return written

        statements = defaultdict(lambda: [0, 0.0])
        with counting(db.engine, statements):
            written = _timed(FINAL, finalise, measured)
        if not runs[FINAL] or measured[FINAL] < min(runs[FINAL]):
            shapes.clear()
            shapes.update(statements)
        for label, seconds in measured.items():
            runs[label].append(seconds)
    results.update({label: min(seconds) for label, seconds in runs.items()})
    return incident, written


def run(backend: str, count: int, repeat: int = 1, ledger_only: bool = False) -> None:
    url, drop = _create_database(backend)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade()
            results: dict[str, float] = {}
            shapes: dict = {}
            _timed(f"setup: {count:,} subscribers in bulk", lambda: _fill(backend, count), results)
            preview_of = _incident(0)
            _settle(backend)

            def preview_totals(incident_id: int):
                return ledger.compensation_of(incident_id)["totals"]

            preview = _timed("preview totals, first view (computes the profile)",
                             lambda: preview_totals(preview_of.id), results)
            _timed("preview totals, next view (cached profile)", lambda: preview_totals(preview_of.id), results)
            _timed("preview first page of 20 rows (GET …/compensation)",
                   lambda: ledger.compensation_page(preview_of.id, 1, 20), results)
            load_at_ledger = os.getloadavg()
            incident, written = _ledger_runs(backend, repeat, results, shapes)
            load_after_ledger = os.getloadavg()
            _settle(backend)
            streamed = None
            if not ledger_only:
                # The follow-up job queues the notices of the last ledger only, as after one closure.
                db.session.execute(sa.update(CompensationLedger).where(CompensationLedger.incident_id != incident.id)
                                   .values(notices_queued_at=CompensationLedger.finalised_at))
                db.session.commit()
                _timed(FOLLOW_UP, followup.queue_pending, results)
                _bare_notices(incident.id, results)
                _timed("final totals (closed, GET …/compensation)", lambda: preview_totals(incident.id), results)
                streamed = _timed("billing CSV: stream every row", lambda: _stream_csv(incident.id), results)
            totals = engine.final_totals(incident.id)
        best = f" (best of {repeat})" if repeat > 1 else ""
        print(f"\n== {backend}: {count:,} affected subscribers{best} ==")
        for label, seconds in results.items():
            print(f"  {label:<48} {seconds:8.2f} s")
        print(f"  statements of the best {FINAL.split(':')[0].lower()} run (count, seconds):")
        for shape, (n, seconds) in sorted(shapes.items(), key=lambda item: -item[1][1])[:6]:
            print(f"    {n:3d} {seconds:7.3f} s  {shape}")
        for label in (label for label in BARE_SHAPES if label in results):
            print(f"  ratio final ledger / {label}: {results[FINAL] / results[label]:5.2f}×")
        if not ledger_only:
            print(f"  ratio follow-up job / bare INSERT … SELECT into notices: "
                  f"{results[FOLLOW_UP] / results[BARE_NOTICES]:5.1f}×")
        print(f"  load average: {' '.join(f'{x:.2f}' for x in load_at_ledger)} before the ledger runs, "
              f"{' '.join(f'{x:.2f}' for x in load_after_ledger)} after")
        print(f"  ledger rows written: {written:,}; CSV rows streamed: {streamed if streamed is None else f'{streamed:,}'}")
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
    parser.add_argument("--repeat", type=int, default=1, help="ledger and bare runs; the best of each is printed")
    parser.add_argument("--ledger-only", action="store_true", help="leave out the follow-up job and the billing CSV")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run(backend, args.subscribers, args.repeat, args.ledger_only)


if __name__ == "__main__":
    main()
