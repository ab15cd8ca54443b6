"""The public status page under an outage's crowd, against a real server process.

    .venv/bin/python bench/status.py [--backend sqlite|postgresql|both] [--open 60] [--recovered 20]
                                     [--seconds 5] [--connections 32]

The product runs as ``flask --app wsgi serve`` runs it (waitress, 8 threads, one process) on a
free loopback port, with the workers off (NOC_IN_PROCESS_WORKERS=0) so the figures are the web
server's. The database holds --open open outages and --recovered recently recovered ones
over several regions and services, each with private and public progress updates, and 20,000
subscribers. The crowd is --connections keep-alive HTTP/1.1 connections from one asyncio
client process (a few hundred lines cheaper than a thread per connection; it shares the
2 cores with the server, so every figure is a floor), each for --seconds:

  static file        GET /status/static/status.css — the same server's cheapest answer (bare)
  /status            GET /status (HTML), no validator: a full body each time
  /status 304        GET /status with If-None-Match: the ETag it answered
  /status.json       GET /status.json, and with If-None-Match
  API during crowd   GET /api/v1/incidents one at a time from a thread while the crowd hits
                     /status, p50/p99, beside the same with no crowd

Prints requests/s and p99 per case, the ratio to the static file, and ``uptime``.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402

REGIONS = ["杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水"]
SERVICES = ["mobile_data", "mobile_voice", "broadband", "iptv", "sms", "fixed_voice"]
SERVER_START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill_outages(open_count: int, recovered_count: int) -> str:
    """The outages through the incidents service, as operators would make them; returns an API token."""
    from app.auth.models import Role
    from app.auth.service import create_user
    from app.clock import utcnow
    from app.incidents import service

    operator, token = create_user("bench-operator", Role.operator)
    now = utcnow()
    for n in range(open_count + recovered_count):
        incident = service.declare(operator, title=f"基准故障 {n}", description="内部描述",
                                   services=[SERVICES[n % len(SERVICES)]], regions=[REGIONS[n % len(REGIONS)]],
                                   detected_at=now - timedelta(minutes=90))
        service.report(incident.id, operator, fault_type="基站退服", scope_summary="内部范围",
                       estimated_recovery_at=now + timedelta(hours=2))
        service.respond(incident.id, operator, responder="值班工程师", emergency_response=True)
        service.post_update(incident.id, operator, message="抢修队已到达现场", notify_subscribers=False, public=True)
        service.post_update(incident.id, operator, message="内部进展", notify_subscribers=False)
        if n >= open_count:
            service.recover(incident.id, operator, summary="已恢复")
    return token


def start_server(url: str, port: int, log) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "NOC_IN_PROCESS_WORKERS": "0", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/status.json", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


async def _connection(port: int, request: bytes, until: float, latencies: list[float], statuses: dict) -> None:
    """One keep-alive client; a connection the server drops is counted and opened again."""
    while time.perf_counter() < until:
        try:
            await _requests_on_one_connection(port, request, until, latencies, statuses)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            statuses[type(error).__name__] = statuses.get(type(error).__name__, 0) + 1


async def _requests_on_one_connection(port: int, request: bytes, until: float, latencies: list[float],
                                      statuses: dict) -> None:
    started = time.perf_counter()  # a new connection's first request includes the connect
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if b"\r\nconnection: close" in head.lower():
                # waitress 3 closes the connection after every 304 (it sends no Content-Length
                # there); a browser or CDN connects again, and so do we, inside the timing.
                statuses["reconnects"] = statuses.get("reconnects", 0) + 1
                return
            started = time.perf_counter()
    finally:
        writer.close()


def crowd(port: int, path: str, seconds: float, connections: int, headers: dict | None = None) -> dict:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: keep-alive",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, request, until, latencies, statuses) for _ in range(connections)))

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    return {"rps": len(latencies) / elapsed, "p99_ms": percentile(latencies, 99) * 1000, "statuses": statuses}


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else (values or [0])[0]


def api_latency(port: int, token: str, stop: threading.Event, out: list[float], seconds: float) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    until = time.perf_counter() + seconds
    while not stop.is_set() and time.perf_counter() < until:
        started = time.perf_counter()
        response = session.get(f"http://127.0.0.1:{port}/api/v1/incidents?per_page=20", timeout=30)
        response.raise_for_status()
        out.append(time.perf_counter() - started)


def api_figures(port: int, token: str, seconds: float, crowd_path: str | None, connections: int) -> dict:
    latencies: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=api_latency, args=(port, token, stop, latencies, seconds))
    thread.start()
    if crowd_path:
        crowd(port, crowd_path, seconds, connections)
    thread.join()
    return {"n": len(latencies), "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000}


def bench_backend(backend: str, args) -> None:
    with fresh_database(backend) as url:
        app = make_app(url)
        with app.app_context():
            fill_subscribers(20_000)
            token = fill_outages(args.open, args.recovered)
        port = free_port()
        log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"noc-bench-status-{backend}.log", "w")
        server = start_server(url, port, log)
        try:
            report(backend, port, token, args)
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        with app.app_context():
            from app.extensions import db
            db.engine.dispose()


def report(backend: str, port: int, token: str, args) -> None:
    status_etag = requests.get(f"http://127.0.0.1:{port}/status").headers["ETag"]
    json_etag = requests.get(f"http://127.0.0.1:{port}/status.json").headers["ETag"]
    cases = [
        ("static file (bare)", "/status/static/status.css", None),
        ("/status", "/status", None),
        ("/status 304", "/status", {"If-None-Match": status_etag}),
        ("/status.json", "/status.json", None),
        ("/status.json 304", "/status.json", {"If-None-Match": json_etag}),
    ]
    print(f"\n{backend}: {args.open} open + {args.recovered} recently recovered outages, "
          f"{args.connections} connections, {args.seconds:g} s each")
    print(f"  {'case':22} {'req/s':>8} {'p99 ms':>8} {'÷ static':>9}  statuses")
    bare = None
    for name, path, headers in cases:
        figures = crowd(port, path, args.seconds, args.connections, headers)
        bare = bare or figures["rps"]
        print(f"  {name:22} {figures['rps']:8.0f} {figures['p99_ms']:8.1f} {figures['rps'] / bare:9.2f}  "
              f"{figures['statuses']}")
    idle = api_figures(port, token, args.seconds, None, args.connections)
    busy = api_figures(port, token, args.seconds, "/status", args.connections)
    print(f"  API GET /api/v1/incidents alone:          n={idle['n']:5} p50 {idle['p50_ms']:7.1f} ms  "
          f"p99 {idle['p99_ms']:7.1f} ms")
    print(f"  API GET /api/v1/incidents during crowd:   n={busy['n']:5} p50 {busy['p50_ms']:7.1f} ms  "
          f"p99 {busy['p99_ms']:7.1f} ms  (×{busy['p99_ms'] / idle['p99_ms']:.1f} p99)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--open", type=int, default=60)
    parser.add_argument("--recovered", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        bench_backend(backend, args)
    print("\n" + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
