"""Catch-up and declaration benchmark (issue 15), PostgreSQL by default: product beside bare, same run.

- declaration: ``incidents.declare`` with its deadlines and timeline, beside the same declaration
  with the deadline step left out (the bare figure of issue 15), interleaved so both see the same load;
  statements per declaration counted;
- catch-up: ~70,000 overdue deadlines (10,000 incidents × 7 kinds, filled set-based) judged by one
  ``judge_due`` pass (timeline events, duty-manager alerts, escalation chains), beside the bare
  conditional UPDATE alone; statements per pass counted, the slowest statement shapes listed.

    .venv/bin/python bench/catchup.py [--backend postgresql|sqlite] [--incidents 10000] [--declares 300]
Targets (issue 15): catch-up ≤ 3× the bare UPDATE; declaration ≤ 1.3× the bare declaration.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event, select, update  # noqa: E402

from bench.common import fresh_database, make_app  # noqa: E402


@contextmanager
def counting(engine, shapes: dict | None = None):
    """Count (and time, by statement shape) every statement sent on ``engine``."""
    counter = {"n": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        counter["n"] += 1
        if shapes is not None:
            key = " ".join(statement.split())[:90]
            shapes[key][0] += 1
            shapes[key][1] += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def backend_cpu() -> float | None:
    """CPU seconds this database's client backends have used so far (user + system), when PostgreSQL runs
    on this machine: on a shared, loaded machine the wall-clock ratio wanders with the neighbours' load,
    the database's own CPU much less. None on SQLite or a remote server."""
    from app.extensions import db

    if db.engine.dialect.name != "postgresql":
        return None
    pids = db.session.scalars(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND backend_type = 'client backend'")).all()
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])   # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def cpu_between(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def bench_declare(user, count: int) -> dict:
    from app.extensions import db
    from app.incidents import service as incidents
    from app.scheduling import service as deadline_service

    product, bare = [], []
    incidents.declare(user, title="预热", services=["core_network"], regions=["杭州"])  # policy version recorded
    with counting(db.engine) as counted:
        incidents.declare(user, title="计数", services=["core_network"], regions=["杭州"])
    statements = counted["n"]
    with mock.patch.object(deadline_service, "create_deadlines", return_value=[]), counting(db.engine) as counted:
        incidents.declare(user, title="计数", services=["core_network"], regions=["杭州"])
    bare_statements = counted["n"]
    for i in range(count):  # interleaved: both figures see the same machine load
        started = time.perf_counter()
        incidents.declare(user, title=f"基准故障 {i}", services=["core_network"], regions=["杭州"])
        product.append(time.perf_counter() - started)
        with mock.patch.object(deadline_service, "create_deadlines", return_value=[]):
            started = time.perf_counter()
            incidents.declare(user, title=f"基准对照 {i}", services=["core_network"], regions=["杭州"])
            bare.append(time.perf_counter() - started)
    return {"declare_ms": statistics.median(product) * 1000, "declare_bare_ms": statistics.median(bare) * 1000,
            "declare_statements": statements, "declare_bare_statements": bare_statements}


def fill_incidents(template_id: int, count: int) -> None:
    """``count`` copies of the template incident, set-based (numbers made unique)."""
    from app.extensions import db
    from app.incidents.models import Incident

    columns = [c.name for c in Incident.__table__.columns if c.name != "id"]
    chosen = ", ".join("'B' || g::text" if c == "number" else c for c in columns)
    if db.engine.dialect.name == "postgresql":
        numbers = f"generate_series(1, {count}) g"
    else:
        numbers = f"(WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < {count}) SELECT g FROM c)"
        chosen = chosen.replace("::text", "")
    db.session.execute(sa.text(f"INSERT INTO incidents ({', '.join(columns)}) SELECT {chosen} "
                               f"FROM incidents, {numbers} WHERE incidents.id = :id"), {"id": template_id})


def bench_catchup(count: int, batch: int | None = None) -> dict:
    from app.clock import utcnow
    from app.extensions import db
    from app.incidents.models import Incident
    from app.scheduling.judge import judge_due
    from app.scheduling.models import Deadline, DeadlineKind

    template = db.session.scalar(select(Incident.id).order_by(Incident.id).limit(1))
    db.session.execute(sa.delete(Deadline))
    fill_incidents(template, count)
    now = utcnow()
    ids = select(Incident.id).where(Incident.number.like("B%")).subquery()
    for kind in DeadlineKind:
        db.session.execute(sa.insert(Deadline).from_select(
            ["incident_id", "kind", "starts_at", "due_at", "warn_at", "escalate_at", "state", "policy_version",
             "created_at", "updated_at"],
            select(ids.c.id, sa.literal(kind.value), sa.literal(now - timedelta(hours=1), Deadline.starts_at.type),
                   sa.literal(now - timedelta(minutes=5), Deadline.due_at.type),
                   sa.literal(now - timedelta(minutes=6), Deadline.warn_at.type),
                   sa.literal(now + timedelta(minutes=25), Deadline.escalate_at.type),
                   sa.literal("pending"), sa.literal("bench"), sa.literal(now, Deadline.created_at.type),
                   sa.literal(now, Deadline.updated_at.type))))
    db.session.commit()
    overdue = db.session.scalar(select(sa.func.count()).select_from(Deadline).where(Deadline.state == "pending"))

    def tidy():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))

    tidy()
    cpu = backend_cpu()
    started = time.perf_counter()
    db.session.execute(update(Deadline).where(Deadline.state == "pending", Deadline.due_at <= utcnow())
                       .values(state="breached", breached_at=utcnow()))
    db.session.commit()  # committed, as the judge commits: then put back
    bare_s = time.perf_counter() - started
    bare_cpu = cpu_between(cpu, backend_cpu())
    db.session.execute(update(Deadline).values(state="pending", breached_at=None))
    db.session.commit()
    tidy()

    shapes: dict = defaultdict(lambda: [0, 0.0])
    cpu = backend_cpu()
    with counting(db.engine, shapes) as counted:
        started = time.perf_counter()
        result = judge_due(**({"batch": batch} if batch else {}))
        product_s = time.perf_counter() - started
    product_cpu = cpu_between(cpu, backend_cpu())
    timeline = db.session.scalar(sa.text("SELECT count(*) FROM timeline_events WHERE kind = 'deadline_breached'"))
    return {"catchup_overdue": overdue, "catchup_s": product_s, "catchup_bare_s": bare_s,
            "catchup_cpu_s": product_cpu, "catchup_bare_cpu_s": bare_cpu,
            "catchup_breached": len(result.breached), "catchup_timeline": timeline,
            "catchup_statements": counted["n"],
            "catchup_shapes": sorted(shapes.items(), key=lambda kv: -kv[1][1])[:8]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--declares", type=int, default=300)
    parser.add_argument("--batch", type=int, help="rows per judging transaction (default: the judge's own)")
    parser.add_argument("--profile", action="store_true", help="list the slowest statement shapes of the catch-up")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with fresh_database(args.backend) as url:
        app = make_app(url)
        with app.app_context():
            from app.auth.models import Role
            from app.auth.service import create_user
            from app.extensions import db

            user, _ = create_user("bench-operator", Role.operator)
            create_user("bench-manager", Role.duty_manager, on_call=True, phone="+8613800138000")
            f = bench_declare(user, args.declares)
            f.update(bench_catchup(args.incidents, args.batch))
            db.session.remove()
            db.engine.dispose()
    print(f"== {args.backend} ==")
    print(f"declaration  {f['declare_ms']:.2f} ms median, {f['declare_statements']} statements   "
          f"(bare, no deadlines: {f['declare_bare_ms']:.2f} ms, {f['declare_bare_statements']} statements)   "
          f"ratio {f['declare_ms'] / f['declare_bare_ms']:.2f}×   target ≤ 1.3×")
    print(f"catch-up     {f['catchup_s']:.2f} s for {f['catchup_breached']:,} of {f['catchup_overdue']:,} overdue "
          f"({f['catchup_timeline']:,} timeline events), {f['catchup_statements']} statements   "
          f"(bare UPDATE: {f['catchup_bare_s']:.2f} s)   ratio {f['catchup_s'] / f['catchup_bare_s']:.2f}×   target ≤ 3×")
    if f["catchup_cpu_s"] and f["catchup_bare_cpu_s"]:
        print(f"             database backend CPU: {f['catchup_cpu_s']:.2f} s (bare UPDATE: {f['catchup_bare_cpu_s']:.2f} s)   "
              f"ratio {f['catchup_cpu_s'] / f['catchup_bare_cpu_s']:.2f}×   load average {os.getloadavg()[0]:.2f}")
    if args.profile:
        for shape, (n, seconds) in f["catchup_shapes"]:
            print(f"  {seconds:7.3f} s  {n:5d}×  {shape}")


if __name__ == "__main__":
    main()
