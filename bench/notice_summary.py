"""The notices panel at 1,000,000 notices: a view of GET /incidents/{id}/notifications beside the
bare count every view used to run (issue 15).

    .venv/bin/python bench/notice_summary.py [--subscribers 1000000] [--backend sqlite|postgresql|both]

For each backend, on a fresh migrated database (bench/common.py, as bench/fanout.py): N subscribers,
one incident, its recovery notice queued to all of them (``queue_for_affected``), a tenth of them
accepted in the last minute. Timed, in this order, in one run:
  bare      SELECT kind, status, count(*) FROM notices WHERE incident_id = … GROUP BY kind, status
            (the count each view ran before, without the per-batch rate count)
  first     the API view that counts (the first after a change, or after the live TTL)
  live      the API view again within NOC_NOTICE_SUMMARY_TTL_SECONDS: counts kept, rate read live
  settled   the API view once the counts settled (nothing changed for the settle time; here the
            settle time is set to 0): the change version only
Each view is the real request through the Flask test client (token, schema, page of 50 rows).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402

REPEAT = 5


def _timed(call, repeat: int = REPEAT) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


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
            from app.notify import summary_cache
            from app.notify.outbox import queue_for_affected

            fill_subscribers(count)
            user, token = create_user("bench", Role.operator)
            incident = incidents.declare(user, title="全网中断", services=["mobile_data"], regions=["杭州"])
            queue_for_affected(incident, "recovery")
            db.session.commit()
            now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
            db.session.execute(sa.text(
                "UPDATE notices SET status = 'accepted', accepted_at = :now, updated_at = :now "
                "WHERE incident_id = :incident AND subscriber_id % 10 = 0").bindparams(now),
                {"incident": incident.id})
            db.session.commit()
            if backend == "postgresql":
                db.session.execute(sa.text("ANALYZE notices"))
                db.session.commit()
            incident_id = incident.id
            db.session.remove()

            def bare() -> None:
                db.session.execute(sa.text("SELECT kind, status, count(*) FROM notices WHERE incident_id = :i "
                                           "GROUP BY kind, status"), {"i": incident_id}).all()
                db.session.remove()

            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}

            def view() -> None:
                response = client.get(f"/api/v1/incidents/{incident_id}/notifications?per_page=50", headers=headers)
                assert response.status_code == 200, response.get_data(as_text=True)

            def first() -> None:
                summary_cache.clear()
                view()

            bare()  # warm the cache of the database alike for both
            result = {"backend": backend, "notices": count, "bare_s": _timed(bare), "first_s": _timed(first)}
            view()
            result["live_s"] = _timed(view, 20)
            app.config["NOC_NOTICE_SUMMARY_SETTLE_SECONDS"] = 0
            summary_cache.clear()
            view()
            result["settled_s"] = _timed(view, 20)
            db.session.remove()
            db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    import logging
    import os

    logging.disable(logging.INFO)
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"{'backend':<11}{'notices':>10}{'bare GROUP BY':>15}{'API first (counts)':>20}{'API live':>10}"
          f"{'ratio':>8}{'API settled':>13}{'ratio':>8}")
    for backend in backends:
        r = run(backend, args.subscribers)
        print(f"{r['backend']:<11}{r['notices']:>10,}{r['bare_s'] * 1000:>13.1f}ms{r['first_s'] * 1000:>18.1f}ms"
              f"{r['live_s'] * 1000:>8.1f}ms{r['live_s'] / r['bare_s']:>7.3f}×{r['settled_s'] * 1000:>11.1f}ms"
              f"{r['settled_s'] / r['bare_s']:>7.3f}×", flush=True)
    print("target: a view within the TTL or once settled costs a small fraction of the bare count")


if __name__ == "__main__":
    main()
