"""Fan-out: queue the recovery notice to 1,000,000 subscribers, beside a bare INSERT … SELECT.

    .venv/bin/python bench/fanout.py [--subscribers 1000000] [--backend sqlite|postgresql|both]
                                     [--repeat 1]

For each backend, on a fresh migrated database: N subscribers in one region with one
service (vacuumed, as a long-lived table is), one recovered incident covering them all. Timed in one run, round-robin, the best
of --repeat tries each; every try starts from the same empty outbox with no notice queued
before, after a checkpoint (bench.common.empty_outbox):
  bare      INSERT INTO notices (…) SELECT … FROM subscribers: the same rows (batch, incident,
            kind, sequence, subscriber, status, due time, deadline, change stamp) into the same
            table with the same indexes; no scope filter, no opt-out filter, no rendering
  queue     app.notify.outbox.queue_for_affected(incident, "recovery") + commit — what
            recovery does: create and render the notice, then INSERT … SELECT over the
            incident's affected set (region IN … AND EXISTS service …, not opted out)
then, once, after a queue:
  requeue   the same call again (the notice exists: inserts nothing)
  bare-heap the bare insert into an unindexed scratch table (the floor of the database)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.common import best_of_queueings, fill_subscribers, fresh_database, load_average, make_app  # noqa: E402

BARE = ("INSERT INTO {table} (batch_id, incident_id, kind, sequence, subscriber_id, status, attempts, next_attempt_at, "
        "deadline_at, updated_at) SELECT :batch, :incident, 'recovery', 1, id, 'queued', 0, :now, :deadline, :now "
        "FROM subscribers")


def run(backend: str, count: int, repeat: int) -> dict:
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
            from app.notify.outbox import notice_deadline, queue_for_affected
            from app.policy import current_policy

            fill = fill_subscribers(count)
            if backend == "postgresql":   # as a long-lived table is, after autovacuum: all-visible, hints set
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(sa.text("VACUUM ANALYZE subscribers, subscriber_services"))
            user, _ = create_user("bench", Role.operator)
            incident = incidents.declare(user, title="全网中断", services=["mobile_data"], regions=["杭州"])
            incident.recovered_at = utcnow()   # the recovery notice's deadline (the flow itself is not timed)
            batch = NoticeBatch(incident_id=incident.id, kind="bare", sequence=1, policy_version="bench",
                                queued_at=utcnow())
            db.session.add(batch)
            db.session.commit()
            values = {"batch": batch.id, "incident": incident.id}
            stamps = [sa.bindparam("now", utcnow(), type_=UTCDateTime()),
                      sa.bindparam("deadline", notice_deadline(incident, "recovery", current_policy()),
                                    type_=UTCDateTime())]

            def bare():
                db.session.execute(sa.text(BARE.format(table="notices")).bindparams(*stamps), values)
                return count

            steps = {"bare": bare, "queue": lambda: queue_for_affected(incident, "recovery")}
            best = best_of_queueings(steps, repeat, count)
            load = load_average()

            started = time.perf_counter()   # the queue step ran last: its notice is there
            again = queue_for_affected(incident, "recovery")
            db.session.commit()
            requeue = time.perf_counter() - started
            assert again == 0, again

            db.session.execute(sa.text("CREATE TABLE bench_heap (batch_id INT, incident_id INT, kind VARCHAR(20), "
                                       "sequence INT, subscriber_id INT, status VARCHAR(12), attempts SMALLINT, "
                                       "next_attempt_at TIMESTAMP, deadline_at TIMESTAMP, updated_at TIMESTAMP)"))
            db.session.commit()
            started = time.perf_counter()
            db.session.execute(sa.text(BARE.format(table="bench_heap")).bindparams(*stamps), values)
            db.session.commit()
            heap = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    return {"backend": backend, "subscribers": count, "fill_s": fill, "bare_s": best["bare"],
            "queue_s": best["queue"], "requeue_s": requeue, "heap_s": heap, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="best of N round-robin tries of bare and queue")
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"best of {args.repeat}")
    print(f"{'backend':<11}{'subscribers':>12}{'bare INSERT…SELECT':>20}{'queue recovery':>16}{'ratio':>7}"
          f"{'re-queue':>10}{'unindexed bare':>16}   load average")
    for backend in backends:
        r = run(backend, args.subscribers, args.repeat)
        print(f"{r['backend']:<11}{r['subscribers']:>12,}{r['bare_s']:>19.2f}s{r['queue_s']:>15.2f}s"
              f"{r['queue_s'] / r['bare_s']:>6.2f}×{r['requeue_s']:>9.2f}s{r['heap_s']:>15.2f}s   {r['load']}",
              flush=True)
    print("target: queue within 1.5× of the bare INSERT … SELECT of the same rows into the same outbox table")


if __name__ == "__main__":
    main()
