"""Shared set-up for the benchmarks: a fresh migrated database per backend, filled set-based."""
from __future__ import annotations

import os
import tempfile
import time
import uuid
from contextlib import contextmanager

import sqlalchemy as sa

POSTGRES_BASE_URL = os.environ.get("NOC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(backend: str):
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="noc-bench-")
        yield f"sqlite:///{directory}/bench.db"
        return
    name = f"noc_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_BASE_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(url: str, **env: str):
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
    return app


def fill_subscribers(count: int, region: str = "杭州", service: str = "mobile_data") -> float:
    """``count`` subscribers with one service each, set-based; returns seconds taken."""
    from app.clock import utcnow
    from app.db_types import UTCDateTime
    from app.extensions import db

    started = time.perf_counter()
    now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
    if db.engine.dialect.name == "postgresql":
        numbers = f"SELECT g AS x FROM generate_series(1, {count}) g"
        phone = "'+86139' || lpad(x::text, 7, '0') || '8'"  # no number the gateway fails on purpose
        if count > 9_999_999:   # past 139's seven free digits: 130–139 give eight (10M-run only)
            phone = "'+8613' || lpad(x::text, 8, '0') || '8'"
    else:
        numbers = f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {count}) SELECT x FROM c"
        phone = "'+86139' || printf('%07d', x) || '8'"
    db.session.execute(sa.text(
        f"INSERT INTO subscribers (phone, name, region, monthly_fee_fen, language, created_at, updated_at) "
        f"SELECT {phone}, '', :region, 5800, 'zh-CN', :now, :now FROM ({numbers}) n").bindparams(now),
        {"region": region})
    db.session.execute(sa.text("INSERT INTO subscriber_services (subscriber_id, service) "
                               "SELECT id, :service FROM subscribers"), {"service": service})
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


def empty_outbox(keep_kind: str = "bare") -> None:
    """The notice outbox as before the first queueing: no notice, no batch but the bare one (so
    the product's next call creates its batch, as a first queueing does), and the pages of the
    step before written out (a checkpoint), so every timed step starts from the same state."""
    from app.extensions import db

    postgresql = db.engine.dialect.name == "postgresql"
    db.session.execute(sa.text("TRUNCATE notices" if postgresql else "DELETE FROM notices"))
    batches = "SELECT id FROM notice_batches WHERE kind <> :keep"
    db.session.execute(sa.text(f"DELETE FROM notice_texts WHERE batch_id IN ({batches})"), {"keep": keep_kind})
    db.session.execute(sa.text("DELETE FROM notice_batches WHERE kind <> :keep"), {"keep": keep_kind})
    db.session.commit()
    db.session.execute(sa.text("CHECKPOINT" if postgresql else "PRAGMA wal_checkpoint(TRUNCATE)"))
    db.session.commit()


def load_average() -> str:
    """The 1/5/15-minute load average, printed beside every figure (the machine is shared)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def best_of_queueings(steps: dict, repeat: int, count: int) -> dict[str, float]:
    """Each step's best time over ``repeat`` round-robin tries, every try from an empty outbox and
    committed (a slow moment of the shared machine hits one try, not one step). Each step returns
    how many notices it queued, which must be ``count``."""
    from app.extensions import db

    best = {name: float("inf") for name in steps}
    for _ in range(repeat):
        for name, step in steps.items():
            empty_outbox()
            started = time.perf_counter()
            queued = step()
            db.session.commit()
            best[name] = min(best[name], time.perf_counter() - started)
            assert queued == count, (name, queued)
    return best
