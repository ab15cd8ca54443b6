"""Alert storm: 10,000 Alertmanager alerts a minute posted to the real webhook over loopback HTTP,
beside a bare INSERT of the same alert rows.

    .venv/bin/python bench/alerts.py [--alerts 10000] [--seconds 60] [--per-request 10]
                                     [--threads 4] [--backend sqlite,postgresql]

  product   POST /api/v1/alerts/alertmanager (bearer token of an integration user), paced so the
            alerts arrive evenly over --seconds from --threads senders; each payload carries
            --per-request alerts (a third of them repeats of earlier fingerprints, as Alertmanager
            re-sends firing alerts), labels over 4 regions × 3 services. Figures: alerts accepted
            per second, request latency p50/p99, proposals formed.
  bare      the same alert rows, --per-request rows per INSERT and commit, into a plain table
            (no HTTP, no grouping, no upsert): the floor the database sets.
Bounded in time: the run stops at 2 × --seconds whatever is left.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.common import fresh_database, make_app  # noqa: E402

REGIONS = ["hangzhou", "ningbo", "wenzhou", "atlantis"]  # the last one is unmapped on purpose
SERVICES = ["mobile-data", "broadband", "iptv"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alert(i: int) -> dict:
    """Alert ``i``; every third one re-sends the alert 100 before it (same fingerprint and labels)."""
    i = i - 100 if i % 3 == 2 and i >= 100 else i
    return {"status": "firing", "fingerprint": f"fp{i:08d}", "startsAt": "2026-12-01T01:00:00.000000000Z",
            "endsAt": "0001-01-01T00:00:00Z", "annotations": {"summary": "基站退服"},
            "labels": {"alertname": "BaseStationDown", "region": REGIONS[i % 4], "service": SERVICES[i % 3],
                       "instance": f"bs{i}"}}


def payloads(count: int, per_request: int) -> list[dict]:
    alerts = [alert(i) for i in range(count)]
    return [{"version": "4", "status": "firing", "receiver": "noc", "alerts": alerts[i:i + per_request]}
            for i in range(0, count, per_request)]


def serve(app, port: int):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def product(app, args) -> dict:
    from app.auth.service import create_user
    from app.extensions import db

    with app.app_context():
        _, token = create_user("bench-alertmanager", "integration")
        db.session.commit()
    port = free_port()
    server = serve(app, port)
    url = f"http://127.0.0.1:{port}/api/v1/alerts/alertmanager"
    bodies = payloads(args.alerts, args.per_request)
    interval = args.seconds / len(bodies)
    latencies: list[float] = []
    accepted = [0]
    lock = threading.Lock()
    local = threading.local()
    started = time.perf_counter()
    deadline = started + 2 * args.seconds

    def post(index: int) -> None:
        wait = started + index * interval - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        if time.perf_counter() > deadline:
            return
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        t0 = time.perf_counter()
        answer = session.post(url, json=bodies[index], headers={"Authorization": f"Bearer {token}"}, timeout=30)
        elapsed = time.perf_counter() - t0
        with lock:
            latencies.append(elapsed)
            if answer.status_code == 202:
                accepted[0] += answer.json()["accepted"]

    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(post, range(len(bodies))))
    total = time.perf_counter() - started
    server.shutdown()
    with app.app_context():
        proposals = db.session.scalar(sa.text("SELECT count(*) FROM alert_proposals"))
        rows = db.session.scalar(sa.text("SELECT count(*) FROM alerts"))
    latencies.sort()
    return {"seconds": total, "accepted": accepted[0], "rate": accepted[0] / total, "requests": len(latencies),
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "proposals": proposals, "alert_rows": rows}


def bare(app, args) -> dict:
    """The same rows, --per-request to an INSERT and commit, no HTTP: seconds per batch."""
    import json

    from app.extensions import db

    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE bare_alerts (id INTEGER PRIMARY KEY, fingerprint VARCHAR(200), "
                                   "status VARCHAR(20), labels TEXT, annotations TEXT)"))
        db.session.commit()
        alerts = [alert(i) for i in range(args.alerts)]
        started = time.perf_counter()
        batch_times = []
        for i in range(0, len(alerts), args.per_request):
            t0 = time.perf_counter()
            db.session.execute(sa.text("INSERT INTO bare_alerts (id, fingerprint, status, labels, annotations) "
                                       "VALUES (:id, :fingerprint, :status, :labels, :annotations)"),
                               [{"id": i + j, "fingerprint": a["fingerprint"], "status": a["status"],
                                 "labels": json.dumps(a["labels"]), "annotations": json.dumps(a["annotations"])}
                                for j, a in enumerate(alerts[i:i + args.per_request])])
            db.session.commit()
            batch_times.append(time.perf_counter() - t0)
        total = time.perf_counter() - started
    batch_times.sort()
    return {"seconds": total, "rate": args.alerts / total, "p99_ms": batch_times[int(len(batch_times) * 0.99) - 1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--backend", default="sqlite,postgresql")
    args = parser.parse_args()
    os.environ.setdefault("NOC_IN_PROCESS_WORKERS", "0")
    print(f"load average {os.getloadavg()[0]:.2f}; {args.alerts} alerts over {args.seconds:g} s, "
          f"{args.per_request} per request, {args.threads} senders")
    for backend in args.backend.split(","):
        with fresh_database(backend) as url:
            app = make_app(url, NOC_IN_PROCESS_WORKERS="0")
            p = product(app, args)
            b = bare(app, args)
            with app.app_context():
                from app.extensions import db
                db.session.remove()
                db.engine.dispose()
        print(f"{backend:10s} product: {p['accepted']}/{args.alerts} accepted in {p['seconds']:.1f} s "
              f"= {p['rate']:.0f} alerts/s ({p['rate'] * 60:.0f}/min), p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms "
              f"per request of {args.per_request}; {p['proposals']} proposals, {p['alert_rows']} alert rows")
        print(f"{backend:10s} bare INSERT: {b['rate']:.0f} rows/s, p99 {b['p99_ms']:.1f} ms per batch of "
              f"{args.per_request}; product p99 / bare p99 = {p['p99_ms'] / b['p99_ms']:.1f}×")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
