"""Benchmark: the console and the incident list at scale, served as `flask serve` serves them.

    .venv/bin/python bench/console.py [--incidents 10000] [--subscribers 200000] [--seconds 10]

A throwaway PostgreSQL database built by the migrations is filled set-based: N subscribers over
seven cities and three services, M incidents (95% closed, the rest in every open state) with
their deadlines, responsibility and a timeline event each. `flask serve` then runs in its own
process (NOC_WEB_THREADS threads), and this script, over loopback:

1. times one page of the board (/incidents), one page of GET /api/v1/incidents?per_page=50 and
   the live poll (/live/changes, a 304) beside a single incident's GET (the baseline; target:
   a page ≤ 3× it), with the bare SELECT of 50 incident rows for reference;
2. runs a mixed load (board, list, single GET, poll) from 8 and then 32 concurrent clients for
   --seconds each and prints requests/s and latencies;
3. opens 50 simulated consoles (each polling every 2 s, as live.js does) and times the single
   GET beside them, then reports how many consoles one process holds (poll capacity × 2 s).
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
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

PASSWORD = "bench-console-密码"
POLL_SECONDS = 2.0
CITIES = ["杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华"]

SUBSCRIBERS_FILL = """
INSERT INTO subscribers (phone, name, region, monthly_fee_fen, language, created_at, updated_at)
SELECT '+86138' || lpad(n::text, 8, '0'), '', (ARRAY['杭州','宁波','温州','嘉兴','湖州','绍兴','金华'])[1 + n % 7],
       5800, 'zh-CN', now(), now()
FROM generate_series(1, :count) AS n
"""
SERVICES_FILL = """
INSERT INTO subscriber_services (subscriber_id, service)
SELECT id, (ARRAY['mobile_data','broadband','fixed_voice'])[1 + id % 3] FROM subscribers
"""
# 95% closed; the rest declared / reported / responding / recovered in turn. Detected n minutes ago.
INCIDENTS_FILL = """
INSERT INTO incidents (number, title, description, services, regions, level, proposed_level, major, status,
                       detected_at, reported_at, responded_at, recovered_at, closed_at,
                       analysis_report_submitted_at, policy_version, created_by, created_at, updated_at, row_version)
SELECT 'INC-BENCH-' || lpad(n::text, 6, '0'), '基准故障 ' || n || ' ' || (ARRAY['杭州','宁波','温州','嘉兴','湖州','绍兴','金华'])[1 + n % 7] || '业务中断', '',
       json_build_array((ARRAY['mobile_data','broadband','fixed_voice'])[1 + n % 3]),
       json_build_array((ARRAY['杭州','宁波','温州','嘉兴','湖州','绍兴','金华'])[1 + n % 7]),
       1 + n % 3, 1 + n % 3, n % 3 = 0, s.status, d.at,
       CASE WHEN s.status <> 'declared' THEN d.at + interval '10 minutes' END,
       CASE WHEN s.status IN ('responding','recovered','closed') THEN d.at + interval '20 minutes' END,
       CASE WHEN s.status IN ('recovered','closed') THEN d.at + interval '2 hours' END,
       CASE WHEN s.status = 'closed' THEN d.at + interval '20 hours' END,
       CASE WHEN s.status = 'closed' THEN d.at + interval '10 hours' END,
       :version, :user_id, d.at, d.at, 1
FROM generate_series(1, :count) AS n
CROSS JOIN LATERAL (SELECT now() - make_interval(mins => (:count - n) * 3 + 1) AS at) d
CROSS JOIN LATERAL (SELECT CASE WHEN n <= :count * 0.95 THEN 'closed'
                                ELSE (ARRAY['declared','reported','responding','recovered'])[1 + n % 4] END AS status) s
"""
DEADLINES_FILL = """
INSERT INTO deadlines (incident_id, kind, starts_at, due_at, warn_at, escalate_at, state, met_at, policy_version,
                       created_at, updated_at)
SELECT i.id, k.kind, i.detected_at, i.detected_at + k.span, i.detected_at + k.span * 0.8,
       i.detected_at + k.span + interval '30 minutes',
       CASE WHEN k.done_states @> ARRAY[i.status]::text[] THEN 'met' ELSE 'pending' END,
       CASE WHEN k.done_states @> ARRAY[i.status]::text[] THEN i.detected_at + k.span * 0.5 END,
       :version, i.detected_at, i.detected_at
FROM incidents i
CROSS JOIN (VALUES ('report', interval '15 minutes', ARRAY['reported','responding','recovered','closed']),
                   ('response', interval '8 hours', ARRAY['responding','recovered','closed']),
                   ('recovery', interval '12 hours', ARRAY['recovered','closed'])) AS k(kind, span, done_states)
"""
RESPONSIBILITY_FILL = """
INSERT INTO incident_responsibilities (incident_id, category, sub_cause, party, share)
SELECT id, 'technical', 'equipment_failure', '网络部', 100 FROM incidents WHERE status = 'closed'
"""
TIMELINE_FILL = """
INSERT INTO timeline_events (incident_id, kind, at, actor_name, message)
SELECT id, 'declared', detected_at, 'bench', '登记故障 ' || number FROM incidents
"""
BARE_PAGE = "SELECT * FROM incidents ORDER BY detected_at DESC, id DESC LIMIT 50"


def fill(subscribers: int, incidents: int) -> tuple[int, int]:
    """The database, set-based; returns (an open incident's id, the console user's id)."""
    from app.auth.models import Role
    from app.auth.service import create_user
    from app.extensions import db
    from app.models import record_policy_version
    from app.policy import current_policy

    user, token = create_user("bench-manager", Role.duty_manager, password=PASSWORD)
    params = {"version": record_policy_version(current_policy()), "user_id": user.id}
    db.session.execute(sa.text(SUBSCRIBERS_FILL), {"count": subscribers})
    db.session.execute(sa.text(SERVICES_FILL))
    db.session.execute(sa.text(INCIDENTS_FILL), {"count": incidents, **params})
    db.session.execute(sa.text(DEADLINES_FILL), params)
    db.session.execute(sa.text(RESPONSIBILITY_FILL))
    db.session.execute(sa.text(TIMELINE_FILL))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.execute(sa.text("CHECKPOINT"))
    db.session.commit()
    open_id = db.session.scalar(sa.text("SELECT id FROM incidents WHERE status = 'responding' ORDER BY id LIMIT 1"))
    return open_id, token


def bare_page_ms(runs: int = 20) -> float:
    from app.extensions import db

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        db.session.execute(sa.text(BARE_PAGE)).all()
        times.append(time.perf_counter() - started)
    db.session.rollback()
    return statistics.median(times) * 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "NOC_IN_PROCESS_WORKERS": "0", "SECRET_KEY": "bench-console",
           "NOC_WEB_THREADS": str(threads)}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(base + "/healthz", timeout=1)
            return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("flask serve did not start")


def console_session(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    session.post(base + "/login", data={"name": "bench-manager", "password": PASSWORD, "csrf_token": token},
                 allow_redirects=False).raise_for_status()
    return session


class Client:
    """One person (or script): a console session and the API token; each request kind by name."""

    def __init__(self, base: str, token: str, incident_id: int) -> None:
        self.base, self.incident_id = base, incident_id
        self.session = console_session(base)
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {token}"
        self.etag = self.session.get(base + "/live/changes").headers.get("ETag")

    def request(self, kind: str) -> int:
        if kind == "single GET":
            return self.api.get(f"{self.base}/api/v1/incidents/{self.incident_id}").status_code
        if kind == "API list ?per_page=50":
            return self.api.get(f"{self.base}/api/v1/incidents?per_page=50").status_code
        if kind == "board":
            return self.session.get(f"{self.base}/incidents").status_code
        return self.session.get(f"{self.base}/live/changes", headers={"If-None-Match": self.etag}).status_code


def median_ms(client: Client, kind: str, runs: int = 15) -> float:
    client.request(kind)  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        status = client.request(kind)
        times.append(time.perf_counter() - started)
        assert status in (200, 304), (kind, status)
    return statistics.median(times) * 1000


MIX = ["board", "API list ?per_page=50", "single GET", "poll (304)"]


def mixed_load(clients: list[Client], seconds: float) -> dict:
    stop = time.perf_counter() + seconds
    latencies: dict[str, list[float]] = {kind: [] for kind in MIX}
    lock = threading.Lock()

    def work(index: int, client: Client) -> int:
        done = 0
        while time.perf_counter() < stop:
            kind = MIX[(index + done) % len(MIX)]
            started = time.perf_counter()
            client.request(kind)
            with lock:
                latencies[kind].append(time.perf_counter() - started)
            done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        total = sum(pool.map(work, range(len(clients)), clients))
    return {"rps": total / (time.perf_counter() - started), "latencies": latencies}


def p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))] * 1000 if values else float("nan")


def consoles_beside_single_get(clients: list[Client], probe: Client, consoles: int, seconds: float) -> list[float]:
    """``consoles`` pollers every 2 s (staggered) while ``probe`` times the single GET."""
    stop = time.perf_counter() + seconds

    def console(index: int) -> None:
        client = clients[index % len(clients)]
        time.sleep(POLL_SECONDS * index / consoles)
        while time.perf_counter() < stop:
            client.request("poll (304)")
            time.sleep(POLL_SECONDS)

    threads = [threading.Thread(target=console, args=(i,), daemon=True) for i in range(consoles)]
    for thread in threads:
        thread.start()
    times = []
    while time.perf_counter() < stop:
        started = time.perf_counter()
        probe.request("single GET")
        times.append(time.perf_counter() - started)
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    return times


def run(args) -> None:
    with fresh_database("postgresql") as url:
        app = make_app(url)
        with app.app_context():
            started = time.perf_counter()
            incident_id, token = fill(args.subscribers, args.incidents)
            print(f"filled {args.incidents:,} incidents, {args.subscribers:,} subscribers in "
                  f"{time.perf_counter() - started:.1f} s (PostgreSQL, set-based)")
            bare = bare_page_ms()
            from app.extensions import db
            db.engine.dispose()
        process, base = start_server(url, args.threads)
        try:
            report(base, token, incident_id, bare, args)
        finally:
            process.terminate()
            process.wait(timeout=20)


def report(base: str, token: str, incident_id: int, bare: float, args) -> None:
    client = Client(base, token, incident_id)
    single = median_ms(client, "single GET")
    print(f"\n1. one request at a time (median of 15), `flask serve` with {args.threads} threads")
    print(f"   {'single incident GET (baseline)':34} {single:8.1f} ms")
    for kind in ("API list ?per_page=50", "board", "poll (304)"):
        ms = median_ms(client, kind)
        print(f"   {kind:34} {ms:8.1f} ms   {ms / single:5.2f}× the single GET")
    print(f"   {'bare SELECT of 50 incident rows':34} {bare:8.1f} ms")

    print(f"\n2. mixed load ({', '.join(MIX)}), {args.seconds:.0f} s each")
    clients = [client] + [Client(base, token, incident_id) for _ in range(31)]
    for concurrency in (8, 32):
        result = mixed_load(clients[:concurrency], args.seconds)
        lat = result["latencies"]
        detail = "  ".join(f"{k} p50 {p(v, .5):.0f}/p95 {p(v, .95):.0f} ms" for k, v in lat.items())
        print(f"   {concurrency:2d} clients: {result['rps']:6.1f} requests/s   {detail}")
    polls = mixed_load_only_polls(clients, args.seconds)

    print(f"\n3. 50 open consoles polling every {POLL_SECONDS:.0f} s beside the single GET ({args.seconds:.0f} s)")
    idle = [median_ms(client, "single GET") / 1000]
    beside = consoles_beside_single_get(clients, client, 50, args.seconds)
    print(f"   single GET p50 alone {idle[0] * 1000:.1f} ms; with 50 consoles p50 {p(beside, .5):.1f} ms, "
          f"p95 {p(beside, .95):.1f} ms")
    print(f"   polls alone (32 clients): {polls:.0f}/s → one process holds about {polls * POLL_SECONDS:,.0f} "
          f"idle consoles at one poll per {POLL_SECONDS:.0f} s (all of its time on polls)")


def mixed_load_only_polls(clients: list[Client], seconds: float) -> float:
    stop = time.perf_counter() + seconds

    def work(client: Client) -> int:
        done = 0
        while time.perf_counter() < stop:
            client.request("poll (304)")
            done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        total = sum(pool.map(work, clients))
    return total / (time.perf_counter() - started)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed load")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("NOC_WEB_THREADS", "16")))
    run(parser.parse_args())
