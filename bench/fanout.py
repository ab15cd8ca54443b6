"""Fan-out: queue the recovery notice to 1,000,000 subscribers, beside a bare INSERT … SELECT.

    .venv/bin/python bench/fanout.py [--subscribers 1000000] [--backend sqlite|postgresql|both]

For each backend, on a fresh migrated database: N subscribers in one region with one
service, one incident covering them all. Timed, in this order, in one run:
  bare      INSERT INTO notices (…) SELECT … FROM subscribers  (same table, same indexes,
            no scope filter, no opt-out filter, no ON CONFLICT, no rendering)
  queue     app.notify.outbox.queue_for_affected(incident, "recovery") + commit — what
            recovery does: render the texts, then INSERT … SELECT … ON CONFLICT DO NOTHING
            over the incident's affected set (region IN … AND EXISTS service …, not opted out)
  requeue   the same call again (idempotent: inserts nothing)
  bare-heap the bare insert into an unindexed scratch table (the floor of the database)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402


def run(backend: str, count: int) -> dict:
    with fresh_database(backend) as url:
        app = make_app(url)
        with app.app_context():
            from app.auth.models import Role
            from app.auth.service import create_user
            from app.clock import utcnow
            from app.db_types import UTCDateTime
            from app.extensions import db
            from app.incidents import service as incidents
            from app.notify.models import NoticeBatch
            from app.notify.outbox import queue_for_affected

            fill = fill_subscribers(count)
            user, _ = create_user("bench", Role.operator)
            incident = incidents.declare(user, title="全网中断", services=["mobile_data"], regions=["杭州"])
            now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
            batch = NoticeBatch(incident_id=incident.id, kind="bare", sequence=1, policy_version="bench",
                                queued_at=utcnow())
            db.session.add(batch)
            db.session.commit()

            started = time.perf_counter()
            db.session.execute(sa.text(
                "INSERT INTO notices (batch_id, incident_id, kind, sequence, subscriber_id, status, attempts, "
                "next_attempt_at) SELECT :batch, :incident, 'bare', 1, id, 'queued', 0, :now FROM subscribers"
            ).bindparams(now), {"batch": batch.id, "incident": incident.id})
            db.session.commit()
            bare = time.perf_counter() - started

            started = time.perf_counter()
            queued = queue_for_affected(incident, "recovery")
            db.session.commit()
            queue = time.perf_counter() - started
            assert queued == count, queued

            started = time.perf_counter()
            again = queue_for_affected(incident, "recovery")
            db.session.commit()
            requeue = time.perf_counter() - started
            assert again == 0, again

            db.session.execute(sa.text("CREATE TABLE bench_heap (batch_id INT, incident_id INT, kind VARCHAR(20), "
                                       "sequence INT, subscriber_id INT, status VARCHAR(12), attempts SMALLINT, "
                                       "next_attempt_at TIMESTAMP)"))
            db.session.commit()
            started = time.perf_counter()
            db.session.execute(sa.text(
                "INSERT INTO bench_heap SELECT 0, :incident, 'bare', 1, id, 'queued', 0, :now FROM subscribers"
            ).bindparams(now), {"incident": incident.id})
            db.session.commit()
            heap = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    return {"backend": backend, "subscribers": count, "fill_s": fill, "bare_s": bare, "queue_s": queue,
            "requeue_s": requeue, "heap_s": heap}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"{'backend':<11}{'subscribers':>12}{'bare INSERT…SELECT':>20}{'queue recovery':>16}{'ratio':>7}"
          f"{'re-queue':>10}{'unindexed bare':>16}")
    for backend in backends:
        r = run(backend, args.subscribers)
        print(f"{r['backend']:<11}{r['subscribers']:>12,}{r['bare_s']:>19.2f}s{r['queue_s']:>15.2f}s"
              f"{r['queue_s'] / r['bare_s']:>6.2f}×{r['requeue_s']:>9.2f}s{r['heap_s']:>15.2f}s", flush=True)
    print("target: queue within 3× of the bare INSERT … SELECT into the same outbox table")


if __name__ == "__main__":
    main()
