"""POST /status/lookup: what it costs, and that a subscriber's number and a stranger's take the same time.

    .venv/bin/python bench/lookup.py [--backend sqlite|postgresql|both] [--requests 400] [--subscribers 20000]

In-process (Flask's test client, no HTTP server), one request at a time, alternating a
subscriber's number and a number no subscriber has, each number and client address used once
(no rate limit is reached). Prints per kind the median and p90 latency, the median difference
subscriber − stranger (the timing an enumerator could measure), and beside them the bare
database operation: one INSERT of a code row and its COMMIT. Then ``uptime``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402


def _ms(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.9)] * 1000


def bare_insert(count: int) -> list[float]:
    from app.clock import utcnow
    from app.db_types import UTCDateTime
    from app.extensions import db

    timings = []
    statement = sa.text(
        "INSERT INTO status_lookup_codes (phone, code_hash, nonce, created_at, expires_at, wrong_attempts, status, "
        "attempts) VALUES (:phone, :hash, :nonce, :now, :now, 0, 'unsent', 0)").bindparams(
        sa.bindparam("now", type_=UTCDateTime()))
    for i in range(count):
        started = time.perf_counter()
        db.session.execute(statement, {"phone": f"+86136{i:08d}", "hash": "0" * 64, "nonce": f"{i:032d}",
                                       "now": utcnow()})
        db.session.commit()
        timings.append(time.perf_counter() - started)
    return timings


def run(backend: str, requests: int, subscribers: int) -> None:
    with fresh_database(backend) as url:
        app = make_app(url, NOC_IN_PROCESS_WORKERS="0")
        with app.app_context():
            fill_subscribers(subscribers)
        client = app.test_client()
        timings: dict[str, list[float]] = {"subscriber": [], "stranger": []}
        for i in range(requests):
            kind = "subscriber" if i % 2 == 0 else "stranger"
            # fill_subscribers numbers: '+86139' + 7 digits + '8'; strangers: a 137 range nobody has.
            phone = f"+86139{i + 1:07d}8" if kind == "subscriber" else f"+86137{i:08d}"
            started = time.perf_counter()
            response = client.post("/status/lookup", json={"phone": phone},
                                   environ_base={"REMOTE_ADDR": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"})
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 202, response.get_data(as_text=True)
        with app.app_context():
            bare = bare_insert(requests // 2)
            from app.extensions import db
            db.engine.dispose()
    bare_median, bare_p90 = _ms(bare)
    print(f"\n{backend}: {requests} lookups over {subscribers:,} subscribers")
    for kind, values in timings.items():
        median, p90 = _ms(values)
        print(f"  POST /status/lookup {kind:10s}  median {median:6.2f} ms  p90 {p90:6.2f} ms  "
              f"({median / bare_median:4.1f}× the bare insert)")
    difference = (statistics.median(timings["subscriber"]) - statistics.median(timings["stranger"])) * 1000
    print(f"  median difference subscriber − stranger: {difference:+.3f} ms")
    print(f"  bare INSERT + COMMIT of a code row        median {bare_median:6.2f} ms  p90 {bare_p90:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--subscribers", type=int, default=20000)
    args = parser.parse_args()
    os.environ.setdefault("NOC_LOG_LEVEL", "WARNING")
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run(backend, args.requests, args.subscribers)
    print("\n" + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
