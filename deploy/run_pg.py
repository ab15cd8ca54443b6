"""``make run-pg``: the product as several processes on the machine's PostgreSQL.

Reads deploy/Procfile (two web processes on their own ports, two schedulers of which one is
active — the other waits on the advisory lock —, two senders sharing the sender pool's global
limit, the local SMS gateway), with the in-process workers of ``flask serve`` off. Migrates and
bootstraps first, prefixes every process's output with its name, and stops them all when one
dies or on Ctrl-C / SIGTERM, like honcho (which runs the same Procfile, given this environment).

    .venv/bin/python deploy/run_pg.py [--database-url URL] [--web-ports 5001,5002] [--gateway-port 5099]

``bench/load.py`` starts the same deployment through ``Deployment`` below.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = ROOT / "deploy" / "Procfile"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/noc_run_pg"


def procfile(path: Path = PROCFILE) -> dict[str, str]:
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def expand(command: str, env: dict) -> list[str]:
    """``${VAR:-default}`` as a shell would, then split on blanks (the Procfile has no quoting)."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), command).split()


def ensure_database(url: str) -> None:
    import sqlalchemy as sa

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


@dataclass
class Deployment:
    database_url: str
    web_ports: tuple[int, int] = (5001, 5002)
    gateway_port: int = 5099
    extra_env: dict = field(default_factory=dict)
    output: object = None              # a file for every process's lines (default: this stdout)
    processes: dict = field(default_factory=dict)

    @property
    def env(self) -> dict:
        env = {**os.environ, "DATABASE_URL": self.database_url, "NOC_IN_PROCESS_WORKERS": "0",
               "NOC_WEB1_PORT": str(self.web_ports[0]), "NOC_WEB2_PORT": str(self.web_ports[1]),
               "NOC_SMS_GATEWAY_PORT": str(self.gateway_port),
               "NOC_SMS_GATEWAY_URL": f"http://127.0.0.1:{self.gateway_port}",
               # The provider posts status callbacks to one web process here; behind a proxy, to the proxy.
               "NOC_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.web_ports[0]}",
               "PYTHONUNBUFFERED": "1", **self.extra_env}
        for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):   # the local gateway, never real Twilio
            env.pop(key, None)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def prepare(self) -> str:
        """Create the database if need be, migrate, and bootstrap (prints the admin login once)."""
        ensure_database(self.database_url)
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return subprocess.run([*flask, "bootstrap"], cwd=ROOT, env=self.env, check=True, text=True,
                              capture_output=True).stdout

    def start(self) -> "Deployment":
        env = self.env
        for name, command in procfile().items():
            argv = expand(command, env)
            argv = [sys.executable, "-m", "flask", *argv[1:]] if argv[0] == "flask" else argv
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, start_new_session=True)
            self.processes[name] = process
            threading.Thread(target=self._relay, args=(name, process), daemon=True).start()
        return self

    def _relay(self, name: str, process: subprocess.Popen) -> None:
        out = self.output or sys.stdout
        for line in process.stdout:
            out.write(f"{name:<11}| {line}")
            out.flush()

    def wait_ready(self, timeout: float = 60) -> None:
        """Until both web processes answer /healthz (any status: the workers may still be starting)."""
        import http.client

        deadline = time.monotonic() + timeout
        for port in self.web_ports:
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    connection.request("GET", "/healthz")
                    connection.getresponse().read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"web process on port {port} did not start") from None
                    time.sleep(0.2)

    def dead(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def stop(self, timeout: float = 20) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        ends = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, ends - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--web-ports", default="5001,5002")
    parser.add_argument("--gateway-port", type=int, default=5099)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("run-pg needs a PostgreSQL DATABASE_URL (the embedded SQLite run is `make run`)")
    first, second = (int(p) for p in args.web_ports.split(","))
    deployment = Deployment(args.database_url, (first, second), args.gateway_port)
    print(deployment.prepare(), end="")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    deployment.start()
    print(f"run-pg: {', '.join(deployment.processes)} started; console http://127.0.0.1:{first}/ and "
          f"http://127.0.0.1:{second}/ (Ctrl-C stops all)", flush=True)
    while not stopping.wait(0.5):
        if dead := deployment.dead():
            print(f"run-pg: {', '.join(dead)} exited: stopping the others", flush=True)
            break
    deployment.stop()


if __name__ == "__main__":
    main()
