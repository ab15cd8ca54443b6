"""Notices that speak to each person: the cost of per-subscriber fields, queueing and sending.

    .venv/bin/python bench/personal.py [--subscribers 100000] [--backend sqlite|postgresql|both]
                                       [--chunks 40] [--chunk-size 200] [--repeat 1]

For each backend, on a fresh migrated database: N subscribers with names, every one with
mobile data and every third with broadband too, one incident over both services, and a
compensation ledger row per subscriber (set-based, amounts varying with the fee). The
policy's ``notices.personal_name`` is ON, so every field is filled (name, own services,
own amount). Timed, in one run:

  bare           INSERT INTO notices (…) SELECT … FROM subscribers (same table and indexes;
                 no rendering, no scope or opt-out filter, no ON CONFLICT)
                 (each timed step starts from an empty outbox with no notice queued before,
                 after a checkpoint: bench.common.empty_outbox)
  queue comp.    queue_for_subscribers(incident, "compensation", 1, SELECT credited ids) +
                 commit: the batch rendered once per language with markers, then the one
                 INSERT … SELECT … ON CONFLICT DO NOTHING
  queue recov.   queue_for_affected(incident, "recovery") + commit (scope filter, EXISTS service)

and what the sender pays to make each person's text, per claimed chunk of --chunk-size:

  load           Sender._load_notices(token, ids) with the filling switched off: the chunk's
                 SELECT (notice, phone, batch text, deadline …) as the sender has it, by the
                 claimed ids
  fill           render_for_recipients on that chunk: the batches' incidents, the
                 subscribers with their services, the ledger figures (compensation), the
                 substitution and each text's segment count

Target: queueing within 2× of the bare INSERT … SELECT.
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.common import best_of_queueings, fresh_database, load_average, make_app  # noqa: E402

FILL = {
    "sqlite": """
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :count)
        INSERT INTO subscribers (phone, name, region, monthly_fee_fen, language, created_at, updated_at)
        SELECT '+86139' || printf('%07d', x) || '8', '用户' || x, '杭州', 1000 + (x * 7919) % 20000,
               CASE WHEN x % 50 = 0 THEN 'en' ELSE 'zh-CN' END, :now, :now FROM c""",
    "postgresql": """
        INSERT INTO subscribers (phone, name, region, monthly_fee_fen, language, created_at, updated_at)
        SELECT '+86139' || lpad(x::text, 7, '0') || '8', '用户' || x, '杭州', 1000 + (x::bigint * 7919) % 20000,
               CASE WHEN x % 50 = 0 THEN 'en' ELSE 'zh-CN' END, :now, :now FROM generate_series(1, :count) x""",
}
SERVICES = ["INSERT INTO subscriber_services (subscriber_id, service) SELECT id, 'mobile_data' FROM subscribers",
            "INSERT INTO subscriber_services (subscriber_id, service) SELECT id, 'broadband' FROM subscribers "
            "WHERE id % 3 = 0"]
LEDGER = """
    INSERT INTO compensation_entries (id, incident_id, subscriber_id, monthly_fee_fen, data_service,
        economic_credit_fen, data_credit_gb)
    SELECT :incident * 10000000000 + id, :incident, id, monthly_fee_fen, true,
           (monthly_fee_fen * 300 * 2 + 43200) / 86400, 2 FROM subscribers"""


def run(backend: str, count: int, chunks: int, chunk_size: int, repeat: int = 1) -> dict:
    with fresh_database(backend) as url:
        app = make_app(url)
        with app.app_context():
            from app.auth.models import Role
            from app.auth.service import create_user
            from app.clock import utcnow
            from app.db_types import UTCDateTime
            from app.extensions import db
            from app.incidents import service as incidents
            from app.notify import sender as sender_module
            from app.notify.models import NoticeBatch
            from app.notify.outbox import queue_for_affected, queue_for_subscribers
            from app.notify.sender import Sender
            from app.policy import parse_policy
            from app.subscribers.models import Subscriber

            policy = app.extensions["noc_policy"]
            app.extensions["noc_policy"] = parse_policy(
                {**policy.data, "notices": {**policy.data["notices"], "personal_name": True,
                                            "initial_notice_on": "manual"}})
            now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
            started = time.perf_counter()
            db.session.execute(sa.text(FILL[backend]).bindparams(now), {"count": count})
            for statement in SERVICES:
                db.session.execute(sa.text(statement))
            db.session.commit()
            user, _ = create_user("bench", Role.operator)
            incident = incidents.declare(user, title="杭州数据与宽带中断", services=["mobile_data", "broadband"],
                                         regions=["杭州"])
            incident.recovered_at = utcnow()   # the recovery notice's time (the flow itself is not timed here)
            ledger = LEDGER
            if backend == "postgresql":   # each incident's ledger is its own partition (app/compensation/partitions.py)
                from app.compensation import partitions

                partitions.create_unindexed(incident.id)
                ledger = LEDGER.replace("compensation_entries", partitions.name_of(incident.id), 1)
            db.session.execute(sa.text(ledger), {"incident": incident.id})
            if backend == "postgresql":
                partitions.index_and_attach(incident.id)
            batch = NoticeBatch(incident_id=incident.id, kind="bare", sequence=1, policy_version="bench",
                                queued_at=utcnow())
            db.session.add(batch)
            db.session.commit()
            if backend == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(sa.text("VACUUM ANALYZE"))
                    connection.execute(sa.text("CHECKPOINT"))
            fill = time.perf_counter() - started

            later = sa.bindparam("later", utcnow().replace(year=utcnow().year + 1), type_=UTCDateTime())

            def bare_insert():
                db.session.execute(sa.text(
                    "INSERT INTO notices (batch_id, incident_id, kind, sequence, subscriber_id, status, attempts, "
                    "next_attempt_at) SELECT :batch, :incident, 'bare', 1, id, 'queued', 0, :later FROM subscribers"
                ).bindparams(later), {"batch": batch.id, "incident": incident.id})
                return count

            steps = {"bare": bare_insert,
                     "comp": lambda: queue_for_subscribers(incident, "compensation", 1, sa.select(Subscriber.id)),
                     "recovery": lambda: queue_for_affected(incident, "recovery")}
            best = best_of_queueings(steps, repeat, count)
            bare, queue_comp, queue_recovery = best["bare"], best["comp"], best["recovery"]
            load = load_average()
            # Both kinds in the outbox for the sender's part (the batch is kept: queued again, untimed).
            assert queue_for_subscribers(incident, "compensation", 1, sa.select(Subscriber.id)) == count
            db.session.commit()

            sender = Sender(app, app.extensions["noc_notify_settings"], name="bench")
            render = sender_module.render_for_recipients
            sender_module.render_for_recipients = lambda outgoing, _policy: list(outgoing)   # the bare load
            figures = {}
            for kind in ("compensation", "recovery"):
                low = db.session.scalar(sa.select(sa.func.min(sa.text("id"))).select_from(sa.text("notices"))
                                        .where(sa.text("kind = :kind")).params(kind=kind))
                timings = {"load": 0.0, "fill": 0.0}
                sample = None
                for i in range(chunks + 1):   # the first chunk warms up, untimed
                    token = uuid.uuid4().hex
                    first = low + i * chunk_size
                    ids = [row[0] for row in db.session.execute(sa.text(
                        "UPDATE notices SET status = 'sending', claim_token = :token "
                        "WHERE kind = :kind AND id BETWEEN :first AND :last RETURNING id"),
                        {"token": token, "kind": kind, "first": first, "last": first + chunk_size - 1})]
                    db.session.commit()
                    started = time.perf_counter()
                    outgoing = sender._load_notices(token, ids)
                    loaded = time.perf_counter()
                    filled = render(outgoing, app.extensions["noc_policy"])
                    done = time.perf_counter()
                    db.session.rollback()
                    assert len(filled) == chunk_size
                    if i:
                        timings["load"] += loaded - started
                        timings["fill"] += done - loaded
                    sample = filled[0]
                per = chunk_size * chunks
                figures[kind] = {"load_us": timings["load"] / per * 1e6, "fill_us": timings["fill"] / per * 1e6,
                                 "sample": sample.body, "segments": sample.segments}
            sender_module.render_for_recipients = render
            sender.pool.shutdown()
            db.session.remove()
            db.engine.dispose()
    return {"backend": backend, "subscribers": count, "fill_s": fill, "bare_s": bare, "queue_comp_s": queue_comp,
            "queue_recovery_s": queue_recovery, "render": figures, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--chunk-size", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1, help="best of N round-robin tries of each queueing step")
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run(backend, args.subscribers, args.chunks, args.chunk_size, args.repeat)
        print(f"\n{backend}, {r['subscribers']:,} subscribers (set-up {r['fill_s']:.1f}s, best of {args.repeat}, "
              f"load average {r['load']})")
        print(f"  {'queueing':<44}{'seconds':>9}{'× bare':>8}")
        print(f"  {'bare INSERT … SELECT':<44}{r['bare_s']:>9.2f}{1:>8.2f}")
        print(f"  {'queue compensation (name + own amount)':<44}{r['queue_comp_s']:>9.2f}"
              f"{r['queue_comp_s'] / r['bare_s']:>8.2f}")
        print(f"  {'queue recovery (name + own services, scope)':<44}{r['queue_recovery_s']:>9.2f}"
              f"{r['queue_recovery_s'] / r['bare_s']:>8.2f}")
        print(f"  {'sender, per message, chunks of ' + str(args.chunk_size):<44}{'load µs':>9}{'fill µs':>9}"
              f"{'fill/load':>11}")
        for kind, f in r["render"].items():
            print(f"  {kind:<44}{f['load_us']:>9.1f}{f['fill_us']:>9.1f}{f['fill_us'] / f['load_us']:>11.2f}")
            print(f"    e.g. ({f['segments']} segments) {f['sample']}")
        sys.stdout.flush()
    print("\ntarget: queueing with per-subscriber fields within 2× of the bare INSERT … SELECT")


if __name__ == "__main__":
    main()
