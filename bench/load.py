"""Load test: the multi-process deployment (deploy/run_pg.py) while an outage recovers.

    .venv/bin/python bench/load.py [--subscribers 100000] [--seconds 30] [--clients 12]
                                   [--identities "+8610690001=500,+8610690002=500"] [--no-callbacks]

Loopback only, bounded in time. A throwaway PostgreSQL database is filled set-based with
--subscribers subscribers in the outage's scope (杭州 · 移动数据), the outage is walked to
``responding`` (its 故障通知 marked sent already), and the deployment is started: two web
processes, two schedulers (one active), two senders, the local gateway (status callbacks posted
to web 1, as Twilio would; --no-callbacks leaves them out). Then, over loopback:

1. bare: ``messages.create`` from as many threads as the two senders have, to the same gateway,
   no database (the ceiling of the sender);
2. deadlines: --deadlines incidents are declared through the API back-dated so that their 15-min
   report deadline falls due during the run; lag = when the active scheduler recorded the breach
   − when it fell due;
3. load: --clients threads drive both web processes with the console's and the API's mix
   (board, incident page, live poll, API incident, list, notifications with the pool projection,
   progress update) while ``POST /recover`` queues the recovery notice to every subscriber, and
   for --seconds after it returned (notices/s under load is measured in that part);
4. the senders drain on alone for --alone-seconds after the load stops: notices/s beside bare.

Prints requests/s, p50 and p99 per endpoint, notices/s under load and alone (with the ratio to
bare, target ≥ 0.9), the recover request's time, the projection the product made, and the lag.
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402
from bench.console import PASSWORD, console_session, free_port  # noqa: E402
from deploy.run_pg import Deployment  # noqa: E402

# (name, weight): what a NOC wall of consoles and a few API clients ask for, by share.
MIX = [("console board", 2), ("console incident page", 2), ("console live poll", 8), ("API GET incident", 2),
       ("API list", 1), ("API notifications", 1), ("API POST update", 1)]


class LoadClient:
    def __init__(self, base: str, token: str, big_id: int, small_id: int) -> None:
        self.base, self.big_id, self.small_id = base, big_id, small_id
        self.console = console_session(base)
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {token}"
        self.etag = self.console.get(base + "/live/changes").headers.get("ETag")

    def request(self, kind: str) -> int:
        b = self.base
        if kind == "console board":
            return self.console.get(f"{b}/incidents").status_code
        if kind == "console incident page":
            return self.console.get(f"{b}/incidents/{self.big_id}").status_code
        if kind == "console live poll":
            response = self.console.get(f"{b}/live/changes", headers={"If-None-Match": self.etag})
            self.etag = response.headers.get("ETag", self.etag)
            return response.status_code
        if kind == "API GET incident":
            return self.api.get(f"{b}/api/v1/incidents/{self.big_id}").status_code
        if kind == "API list":
            return self.api.get(f"{b}/api/v1/incidents?per_page=50").status_code
        if kind == "API notifications":
            return self.api.get(f"{b}/api/v1/incidents/{self.big_id}/notifications?per_page=20").status_code
        return self.api.post(f"{b}/api/v1/incidents/{self.small_id}/updates",
                             json={"message": "现场处理中（压测）"}).status_code


def setup(subscribers: int) -> tuple[int, int, str]:
    """Subscribers, users and the outage (responding); returns (outage id, small incident id, API token)."""
    from app.auth.models import Role
    from app.auth.service import create_user
    from app.clock import utcnow
    from app.extensions import db
    from app.incidents import service as incidents

    fill_subscribers(subscribers)
    user, token = create_user("bench-manager", Role.duty_manager, password=PASSWORD)
    big = incidents.declare(user, title="杭州移动数据大面积中断（压测）", services=["mobile_data"], regions=["杭州"])
    incidents.report(big.id, user, fault_type="核心网故障", scope_summary="杭州全市", estimated_recovery_at=utcnow()
                     + timedelta(hours=2))
    incidents.respond(big.id, user, responder="张伟", emergency_response=big.major)
    small = incidents.declare(user, title="宁波宽带局部中断（压测）", services=["broadband"], regions=["宁波"])
    # The 故障通知 went out before this run: only the recovery notice is sent during it.
    db.session.execute(sa.text("UPDATE notices SET status = 'accepted', accepted_at = :now WHERE kind = 'outage'")
                       .bindparams(sa.bindparam("now", utcnow(), type_=sa.DateTime(timezone=True))))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    return big.id, small.id, token


def bare_rate(settings, count: int, threads: int) -> float:
    from app.notify.twilio_client import ThreadLocalClients

    clients = ThreadLocalClients(settings)

    def one(i: int) -> None:
        clients.get().messages.create(to=f"+86137{i:07d}8", body="【恢复通知】基准测试 bare loop", from_="+8610690000")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(min(200, count))))          # warm the connections
        started = time.perf_counter()
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def declare_late(bases: list[str], token: str, count: int, window: float) -> None:
    """Incidents whose report deadline (15 min) falls due spread over the next ``window`` seconds."""
    from app.clock import utcnow

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    now = utcnow()
    for i in range(count):
        detected = now - timedelta(minutes=15) + timedelta(seconds=3 + i * max(1.0, window) / max(1, count))
        response = api.post(f"{bases[i % 2]}/api/v1/incidents", json={
            "title": f"压测时限 {i}", "services": ["fixed_voice"], "regions": ["温州"],
            "detected_at": detected.isoformat()})
        response.raise_for_status()


def accepted(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM notices WHERE kind = 'recovery' AND status <> "
                                          "'queued' AND status <> 'sending'")).scalar_one()


def drive(clients: list[LoadClient], stop: threading.Event) -> dict[str, list]:
    timings: dict[str, list] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    schedule = [kind for kind, weight in MIX for _ in range(weight)]

    def work(index: int, client: LoadClient) -> None:
        for kind in itertools.islice(itertools.cycle(schedule), index, None):
            if stop.is_set():
                return
            started = time.perf_counter()
            try:
                status = client.request(kind)
            except requests.RequestException:
                status = 0
            timings[kind].append(time.perf_counter() - started)
            if status not in (200, 201, 304):
                errors[kind] += 1

    threads = [threading.Thread(target=work, args=(i, c), daemon=True) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    return {"timings": timings, "errors": errors, "threads": threads}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30, help="load after the recovery is queued")
    parser.add_argument("--alone-seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--deadlines", type=int, default=30)
    parser.add_argument("--sender-threads", type=int, default=8)
    parser.add_argument("--identities", default="", help="NOC_SMS_IDENTITIES for the senders (default: unlimited)")
    parser.add_argument("--no-callbacks", action="store_true", help="the gateway posts no status callbacks")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        os.environ.pop(key, None)
    ports = (free_port(), free_port())
    gateway_port = free_port()
    env = {"NOC_SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}", "NOC_SMS_SENDER_THREADS": str(args.sender_threads),
           "NOC_SMS_BATCH_SIZE": "400", "NOC_SMS_SEGMENTS_PER_SECOND": "0", "NOC_SMS_IDENTITIES": args.identities,
           "SECRET_KEY": "bench-load", "NOC_GATEWAY_FLAGS": "--no-callbacks" if args.no_callbacks else ""}
    print(f"subscribers {args.subscribers:,}  clients {args.clients}  load seconds {args.seconds:g}  "
          f"senders 2 × {args.sender_threads} threads  pool {args.identities or 'unlimited'}  callbacks "
          f"{'off' if args.no_callbacks else 'on'}  cores {os.cpu_count()}  load average {os.getloadavg()[0]:.2f}",
          flush=True)
    with fresh_database("postgresql") as url:
        app = make_app(url, **env)
        with app.app_context():
            started = time.perf_counter()
            big_id, small_id, token = setup(args.subscribers)
            print(f"setup {time.perf_counter() - started:.1f} s", flush=True)
        log = open(ROOT / "instance" / "bench-load.log", "w")
        deployment = Deployment(url, ports, gateway_port, extra_env=env, output=log)
        deployment.prepare()
        deployment.start()
        try:
            deployment.wait_ready()
            run(app, deployment, args, big_id, small_id, token, url)
        finally:
            deployment.stop()
            log.close()
            with app.app_context():
                from app.extensions import db

                db.session.remove()
                db.engine.dispose()


def run(app, deployment: Deployment, args, big_id: int, small_id: int, token: str, url: str) -> None:
    bases = [f"http://127.0.0.1:{p}" for p in deployment.web_ports]
    engine = sa.create_engine(url)
    settings = app.extensions["noc_notify_settings"]
    bare = bare_rate(settings, min(20_000, max(2_000, args.subscribers // 5)), 2 * args.sender_threads)
    print(f"bare messages.create ({2 * args.sender_threads} threads, same gateway)  {bare:,.0f} /s", flush=True)
    declare_late(bases, token, args.deadlines, args.seconds + 20)     # + about the recovery's own time
    clients = [LoadClient(bases[i % 2], token, big_id, small_id) for i in range(args.clients)]
    stop = threading.Event()
    load = drive(clients, stop)
    load_started = time.perf_counter()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    recover_started = time.perf_counter()
    api.post(f"{bases[0]}/api/v1/incidents/{big_id}/recover", json={"summary": "核心网已恢复（压测）"}).raise_for_status()
    recover_ms = (time.perf_counter() - recover_started) * 1000
    plan = next((n.get("pool_plan") for n in api.get(f"{bases[1]}/api/v1/incidents/{big_id}/notifications?per_page=1")
                 .json()["notices"] if n["kind"] == "recovery"), None)
    first_count, first_at = accepted(engine), time.perf_counter()
    stop.wait(args.seconds)            # the load goes on for --seconds after the recovery was queued
    stop.set()
    load_seconds = time.perf_counter() - load_started
    under_load = (accepted(engine) - first_count) / (time.perf_counter() - first_at)
    for thread in load["threads"]:
        thread.join(30)
    alone_from, alone_at = accepted(engine), time.perf_counter()
    threading.Event().wait(args.alone_seconds)
    alone_to = accepted(engine)
    alone = (alone_to - alone_from) / (time.perf_counter() - alone_at)
    report(load, load_seconds, recover_ms, plan, under_load, alone, bare, alone_to, args, engine, deployment)


def report(load, load_seconds, recover_ms, plan, under_load, alone, bare, done, args, engine, deployment) -> None:
    print(f"\n{'endpoint':<24}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    total = 0
    for kind, _ in MIX:
        values = load["timings"].get(kind, [])
        total += len(values)
        print(f"{kind:<24}{len(values):>9,}{len(values) / load_seconds:>9.1f}{pct(values, 0.5):>9.1f}"
              f"{pct(values, 0.99):>9.1f}{load['errors'].get(kind, 0):>8}")
    print(f"{'all':<24}{total:>9,}{total / load_seconds:>9.1f}")
    print(f"\nPOST /recover (queues {args.subscribers:,} recovery notices in its transaction)  {recover_ms:,.0f} ms")
    if plan:
        print(f"projection at queuing: {plan['text']}")
    print(f"recovery notices sent: {done:,} of {args.subscribers:,}")
    print(f"notices/s under load {under_load:,.0f}   alone {alone:,.0f}   bare {bare:,.0f}   "
          f"alone/bare {alone / bare:.2f} (target ≥ 0.9)")
    with engine.connect() as connection:
        lags = [row[0] for row in connection.execute(sa.text(
            "SELECT EXTRACT(EPOCH FROM breached_at - due_at) FROM deadlines "
            "WHERE kind = 'report' AND breached_at IS NOT NULL"))]
        due = connection.execute(sa.text("SELECT count(*) FROM deadlines WHERE kind = 'report' AND due_at <= now() "
                                         "AND state = 'pending'")).scalar_one()
    if lags:
        print(f"deadline lag (breach recorded − due), {len(lags)} deadlines: median "
              f"{statistics.median(lags) * 1000:,.0f} ms, max {max(lags) * 1000:,.0f} ms; still unjudged past due: {due}")
    print(f"processes still running: {len(deployment.processes) - len(deployment.dead())} of "
          f"{len(deployment.processes)}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
