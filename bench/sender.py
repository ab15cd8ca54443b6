"""Sender throughput: notices per second end to end through the twilio library against the
local gateway (zero latency, no rate limit), beside a bare loop of ``messages.create``.

    .venv/bin/python bench/sender.py [--notices 20000] [--backend postgresql|sqlite]
                                     [--threads 8] [--processes 1,2]

The gateway runs as its own process (``flask sms-gateway run --no-callbacks``), as it
would beside the product; the figures below share the machine's cores with it.
  bare loop        one twilio Client, messages.create in a plain for-loop (one thread)
  bare threads     the same from --threads threads, one Client (keep-alive session) each
  end to end       N recovery notices queued in the outbox, then the Sender as the product
                   runs it (``run_forever``: --threads workers, each claiming a batch, loading
                   texts, messages.create with status_callback/validity_period, recording SIDs)
                   — timed until every notice is accepted (polled every 50 ms). With --processes > 1,
                   that many ``flask sender run --once`` processes share the outbox
                   (PostgreSQL), timed from spawn to the last exit (start-up included).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sms-gateway", "run", "--port",
                                str(port), "--no-callbacks"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            requests.get(f"http://127.0.0.1:{port}/_gateway/messages?limit=0", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError("gateway did not start")


def bare(settings, count: int, threads: int) -> float:
    from app.notify.twilio_client import ThreadLocalClients, sender_identity

    clients = ThreadLocalClients(settings)
    identity = sender_identity(settings)

    def one(i: int) -> None:
        clients.get().messages.create(to=f"+86139{i:07d}8", body="【恢复通知】基准测试 bare loop", **identity)

    started = time.perf_counter()
    if threads == 1:
        for i in range(count):
            one(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=20000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", default="1,2", help="comma-separated sender process counts to try")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    port = free_port()
    gateway_url = f"http://127.0.0.1:{port}"
    env = {"NOC_SMS_GATEWAY_URL": gateway_url, "NOC_SMS_SEGMENTS_PER_SECOND": "0",
           "NOC_SMS_SENDER_THREADS": str(args.threads), "NOC_SMS_BATCH_SIZE": "500"}
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        os.environ.pop(key, None)
    gateway = start_gateway(port)
    print(f"notices {args.notices:,}  backend {args.backend}  sender threads {args.threads}  "
          f"cores {os.cpu_count()}  load {os.getloadavg()[0]:.1f}")
    try:
        with fresh_database(args.backend) as url:
            app = make_app(url, **env)
            settings = app.extensions["noc_notify_settings"]
            print(f"{'bare loop (1 thread)':<34}{bare(settings, min(args.notices, 5000), 1):>10,.0f} /s", flush=True)
            print(f"{f'bare threads ({args.threads})':<34}{bare(settings, args.notices, args.threads):>10,.0f} /s",
                  flush=True)
            with app.app_context():
                from app.auth.models import Role
                from app.auth.service import create_user
                from app.extensions import db
                from app.incidents import service as incidents
                from app.notify.outbox import queue_for_affected
                from app.notify.sender import Sender
                from sqlalchemy import func, select

                from app.notify.models import Notice

                fill_subscribers(args.notices)
                user_id = create_user("bench", Role.operator)[0].id
                for processes in [int(p) for p in args.processes.split(",")]:
                    from app.auth.models import User

                    incident = incidents.declare(db.session.get(User, user_id), title="基准", services=["mobile_data"], regions=["杭州"])
                    queue_for_affected(incident, "recovery")
                    db.session.commit()
                    incident_id = incident.id
                    db.session.remove()
                    started = time.perf_counter()
                    if processes == 1:
                        # The product's long-running sender (``flask sender run`` / in-process):
                        # worker threads, each claiming and sending its own batches.
                        sender, stop = Sender(app, settings), threading.Event()
                        runner = threading.Thread(target=sender.run_forever, args=(stop,))
                        runner.start()
                        while not stop.wait(0.05):
                            if db.session.scalar(select(func.count()).where(
                                    Notice.incident_id == incident_id, Notice.status == "accepted")) == args.notices:
                                stop.set()
                            db.session.rollback()
                        runner.join()
                    else:
                        if args.backend == "sqlite":
                            continue
                        procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sender", "run",
                                                   "--once"], cwd=ROOT, env={**os.environ, **env, "DATABASE_URL": url},
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                                 for _ in range(processes)]
                        for proc in procs:
                            proc.wait()
                    elapsed = time.perf_counter() - started

                    accepted = db.session.scalar(select(func.count()).where(
                        Notice.incident_id == incident_id, Notice.status == "accepted"))
                    assert accepted == args.notices, accepted
                    label = f"end to end ({processes} process{'es' if processes > 1 else ''} × {args.threads} threads)"
                    print(f"{label:<34}{args.notices / elapsed:>10,.0f} /s", flush=True)
                db.session.remove()
                db.engine.dispose()
    finally:
        gateway.terminate()
        gateway.wait()


if __name__ == "__main__":
    threading.excepthook = lambda a: None
    main()
