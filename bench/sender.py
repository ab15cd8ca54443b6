"""Sender throughput: notices per second end to end through the twilio library against the
local gateway (zero latency, no rate limit), beside a bare loop of ``messages.create``.

    .venv/bin/python bench/sender.py [--notices 20000] [--backend postgresql|sqlite]
                                     [--threads 8] [--processes 1,2] [--repeat 1] [--batch-size 500]

The gateway runs as its own process (``flask sms-gateway run --no-callbacks``), as it
would beside the product; the figures below share the machine's cores with it.
  bare loop        one twilio Client, messages.create in a plain for-loop (one thread)
  bare threads     the same from --threads threads, one Client (keep-alive session) each
  end to end       N recovery notices queued in the outbox, then the Sender as the product
                   runs it (``run_forever``: --threads workers, each claiming a batch, loading
                   texts, messages.create with status_callback/validity_period, recording SIDs)
                   — timed until no notice is left queued or sending (polled every 50 ms on the
                   pending-batch index), then every one checked accepted. With --processes > 1,
                   that many ``flask sender run`` processes (the deployment's long-running
                   senders, PostgreSQL) are started and idle first; the clock runs from the
                   commit that queues the notices (start-up excluded: a sender is a service).
  bare, same reqs  the bare threads again after the end-to-end runs, sending what the product
                   sent: its personal text, validity period and a status callback per message
                   (the first bare figures send a short text and nothing else); the end-to-end
                   figures are then also given against it.
  ratio            end to end / the better of the two bare figures of the same run; the load
                   average is printed beside it. --repeat N runs it all N times (best of each).
  cpu              CPU time per notice (user + system, /proc) of everything the figure needs:
                   bare, this process and the gateway; end to end, the senders, the gateway and
                   the database's server processes. Less sensitive than the rates to what else
                   the machine is running; "× bare" is against the leaner bare figure.
"""
from __future__ import annotations

import argparse
import os
import signal
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


def bare(settings, count: int, threads: int, like: dict | None = None) -> float:
    """``like``: a message the product sent (gateway record): send its body, validity period and a
    status callback of the same shape (one per request, so the gateway creates each)."""
    from app.notify.twilio_client import ThreadLocalClients, sender_identity

    clients = ThreadLocalClients(settings)
    identity = sender_identity(settings)
    body, extra = "【恢复通知】基准测试 bare loop", {}
    if like:
        body, callback = like["body"], like["status_callback"].split("?")[0]
        extra = {"validity_period": like["validity_period"]}

    def one(i: int) -> None:
        more = {**extra, "status_callback": f"{callback}?notice=bare{i}"} if like else {}
        clients.get().messages.create(to=f"+86139{i:07d}8", body=body, **identity, **more)

    started = time.perf_counter()
    if threads == 1:
        for i in range(count):
            one(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def cpu_of(pids) -> dict[int, float]:
    """CPU seconds (user + system) each live process has used so far (Linux /proc)."""
    seconds = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def database_backends() -> list[int]:
    """The PostgreSQL server processes serving this bench's database (its sender connections)."""
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name != "postgresql":
        return []
    pids = list(db.session.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))
    db.session.rollback()
    return pids


def cpu_used(before: dict[int, float], pids) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in cpu_of(pids).items())


def pending(batch_id: int) -> bool:
    """A notice of the batch still queued or sending: one probe of the pending-batch partial index,
    so the bench's own polling costs the database next to nothing."""
    from sqlalchemy import text

    from app.extensions import db

    found = db.session.execute(text("SELECT 1 FROM notices WHERE batch_id = :b AND status IN ('queued', 'sending') "
                                    "LIMIT 1"), {"b": batch_id}).first()
    db.session.rollback()
    return found is not None


def wait_until_sent(batch_id: int, stop: threading.Event | None = None) -> None:
    while pending(batch_id):
        time.sleep(0.05)
    if stop is not None:
        stop.set()


def start_senders(processes: int, env: dict, url: str) -> list[subprocess.Popen]:
    """The deployment's long-running senders (``flask sender run``), returned once each has beaten."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.ops.models import WorkerHeartbeat

    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sender", "run"], cwd=ROOT,
                              env={**os.environ, **env, "DATABASE_URL": url},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(processes)]
    pids = [p.pid for p in procs]
    for _ in range(1200):
        up = db.session.scalar(select(func.count()).where(WorkerHeartbeat.kind == "sender",
                                                          WorkerHeartbeat.pid.in_(pids)))
        db.session.rollback()
        if up == processes:
            return procs
        time.sleep(0.05)
    raise RuntimeError("the sender processes did not start")


def stop_senders(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait()


def end_to_end(app, settings, user_id: int, processes: int, count: int, env: dict, url: str,
               gateway_pid: int) -> tuple[float, float]:
    """Notices per second from the commit that queues ``count`` recovery notices until all are
    accepted, and the CPU seconds the senders, the gateway and the database used meanwhile."""
    from sqlalchemy import func, select

    from app.auth.models import User
    from app.extensions import db
    from app.incidents import service as incidents
    from app.notify.models import Notice, NoticeBatch
    from app.notify.outbox import queue_for_affected
    from app.notify.sender import Sender

    procs = start_senders(processes, env, url) if processes > 1 else []
    try:
        incident = incidents.declare(db.session.get(User, user_id), title="基准", services=["mobile_data"],
                                     regions=["杭州"])
        queue_for_affected(incident, "recovery")
        incident_id = incident.id
        db.session.commit()
        started = time.perf_counter()
        senders = [p.pid for p in procs] or [os.getpid()]
        cpu_before = cpu_of(senders + [gateway_pid] + database_backends())
        batch_id = db.session.scalar(select(NoticeBatch.id).where(NoticeBatch.incident_id == incident_id))
        if processes == 1:
            # The product's long-running sender in this process: worker threads, each claiming
            # and sending its own batches.
            sender, stop = Sender(app, settings), threading.Event()
            runner = threading.Thread(target=sender.run_forever, args=(stop,))
            runner.start()
            wait_until_sent(batch_id, stop)
            runner.join()
        else:
            wait_until_sent(batch_id)
        elapsed = time.perf_counter() - started
        backends = database_backends()
        cpu = {"senders": cpu_used(cpu_before, senders), "gateway": cpu_used(cpu_before, [gateway_pid]),
               "database": cpu_used(cpu_before, backends)}
    finally:
        stop_senders(procs)
    accepted = db.session.scalar(select(func.count()).where(
        Notice.incident_id == incident_id, Notice.status == "accepted"))
    assert accepted == count, accepted
    db.session.remove()
    return count / elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=20000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", default="1,2", help="comma-separated sender process counts to try")
    parser.add_argument("--repeat", type=int, default=1, help="run everything this many times; best of each")
    parser.add_argument("--batch-size", type=int, default=500, help="NOC_SMS_BATCH_SIZE (each worker claims it / threads)")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    port = free_port()
    gateway_url = f"http://127.0.0.1:{port}"
    env = {"NOC_SMS_GATEWAY_URL": gateway_url, "NOC_SMS_SEGMENTS_PER_SECOND": "0",
           "NOC_SMS_SENDER_THREADS": str(args.threads), "NOC_SMS_BATCH_SIZE": str(args.batch_size),
           # Idle senders look for work every 0.2 s, so the clock does not wait on a poll.
           "NOC_SMS_POLL_SECONDS": "0.2"}
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        os.environ.pop(key, None)
    process_counts = [int(p) for p in args.processes.split(",")
                      if args.backend == "postgresql" or int(p) == 1]
    gateway = start_gateway(port)
    print(f"notices {args.notices:,}  backend {args.backend}  sender threads {args.threads}  "
          f"cores {os.cpu_count()}  load {os.getloadavg()[0]:.1f}")
    best: dict[str, float] = {}

    def report(label: str, rate: float, cpu_per_notice: float, bare_rate: float | None = None,
               bare_cpu: float | None = None) -> None:
        best[label] = max(best.get(label, 0.0), rate)
        ratio = f"   ratio {rate / bare_rate:.2f}" if bare_rate else ""
        cpu = f"   cpu {cpu_per_notice * 1e6:,.0f} µs/notice" + (f" ({cpu_per_notice / bare_cpu:.2f}× bare)"
                                                             if bare_cpu else "")
        print(f"{label:<34}{rate:>10,.0f} /s{ratio}{cpu}   load {os.getloadavg()[0]:.1f}", flush=True)

    try:
        with fresh_database(args.backend) as url:
            app = make_app(url, **env)
            settings = app.extensions["noc_notify_settings"]
            with app.app_context():
                from app.auth.models import Role
                from app.auth.service import create_user
                from app.extensions import db

                fill_subscribers(args.notices)
                user_id = create_user("bench", Role.operator)[0].id
                db.session.commit()
                for _ in range(args.repeat):
                    bare_rate, bare_cpu = 0.0, None
                    for label, count, threads in (("bare loop (1 thread)", min(args.notices, 5000), 1),
                                                  (f"bare threads ({args.threads})", args.notices, args.threads)):
                        cpu_before = cpu_of([os.getpid(), gateway.pid])
                        rate = bare(settings, count, threads)
                        client, gateway_cpu = cpu_used(cpu_before, [os.getpid()]), cpu_used(cpu_before, [gateway.pid])
                        cpu = (client + gateway_cpu) / count
                        bare_rate, bare_cpu = max(bare_rate, rate), min(bare_cpu or cpu, cpu)
                        report(label, rate, cpu)
                        print(" " * 34 + f"client {client / count * 1e6:,.0f}   gateway {gateway_cpu / count * 1e6:,.0f} µs/notice")
                    results = []
                    for processes in process_counts:
                        label = f"end to end ({processes} process{'es' if processes > 1 else ''} × {args.threads} threads)"
                        rate, cpu = end_to_end(app, settings, user_id, processes, args.notices, env, url, gateway.pid)
                        results.append((label, rate, sum(cpu.values()) / args.notices))
                        report(label, rate, sum(cpu.values()) / args.notices, bare_rate, bare_cpu)
                        print(" " * 34 + "   ".join(f"{k} {v / args.notices * 1e6:,.0f}" for k, v in cpu.items())
                              + " µs/notice")
                    # The bare loop again, with the requests the product just made: the same
                    # personal text (UCS-2, longer), validity period and a status callback.
                    like = requests.get(f"{gateway_url}/_gateway/messages", timeout=60).json()["messages"][-1]
                    cpu_before = cpu_of([os.getpid(), gateway.pid])
                    same_rate = bare(settings, args.notices, args.threads, like)
                    same_cpu = cpu_used(cpu_before, [os.getpid(), gateway.pid]) / args.notices
                    report(f"bare threads ({args.threads}), same requests", same_rate, same_cpu)
                    for label, rate, cpu in results:
                        print(f"  {label} against it: ratio {rate / same_rate:.2f}   cpu {cpu / same_cpu:.2f}× bare")
                if args.repeat > 1:
                    print(f"best of {args.repeat}:")
                    bare_best = max(v for k, v in best.items() if k.startswith("bare"))
                    for label, rate in best.items():
                        ratio = f"   ratio {rate / bare_best:.2f}" if label.startswith("end") else ""
                        print(f"  {label:<32}{rate:>10,.0f} /s{ratio}")
                db.session.remove()
                db.engine.dispose()
    finally:
        gateway.terminate()
        gateway.wait()


if __name__ == "__main__":
    threading.excepthook = lambda a: None
    main()
