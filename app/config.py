"""Settings from the environment, typed, with the embedded defaults of the quick start."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "policy_default.toml"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    port: int
    policy_path: Path
    # Scheduler, sender and local gateway inside `flask serve` (the embedded default); a
    # deployment that runs `flask scheduler run` / `flask sender run` sets this to 0.
    run_workers_in_process: bool
    # `flask serve`: request threads (at most the database pool: 10 + 10 overflow) and open connections.
    web_threads: int = 16
    web_connections: int = 500
    # Health: every worker rewrites its heartbeat row this often; a row older than
    # ``worker_stale_seconds`` is a dead worker; notices due longer than ``queue_wait_seconds``
    # with no live sender mean the sender is down.
    heartbeat_seconds: float = 5.0
    worker_stale_seconds: float = 30.0
    queue_wait_seconds: float = 60.0
    # PostgreSQL: give up connecting (and notice a dead server) in seconds, not minutes.
    db_connect_timeout_seconds: int = 5
    db_statement_timeout_seconds: int = 0   # 0: none (a 1,000,000-row fan-out is one statement)
    # The site is served over HTTPS (behind a TLS proxy): session cookies are Secure, HSTS is sent.
    https: bool = False
    # Reverse proxies in front of the product (0: none). Only with this set is the client
    # address taken from X-Forwarded-For, so that log-in failures count per real client.
    proxy_hops: int = 0

    @classmethod
    def from_environment(cls, instance_path: Path) -> "Settings":
        default_db = f"sqlite:///{instance_path / 'noc.db'}"
        secret = os.environ.get("SECRET_KEY")
        if not secret:
            # A random key is safe for a single local process; production sets SECRET_KEY.
            secret = secrets.token_hex(32)
        return cls(
            database_url=os.environ.get("DATABASE_URL", default_db),
            secret_key=secret,
            port=int(os.environ.get("PORT", "5000")),
            policy_path=Path(os.environ.get("NOC_POLICY_FILE", str(DEFAULT_POLICY_PATH))),
            run_workers_in_process=_bool(os.environ.get("NOC_IN_PROCESS_WORKERS"), default=True),
            web_threads=int(os.environ.get("NOC_WEB_THREADS", "16")),
            web_connections=int(os.environ.get("NOC_WEB_CONNECTIONS", "500")),
            heartbeat_seconds=float(os.environ.get("NOC_HEARTBEAT_SECONDS", "5")),
            worker_stale_seconds=float(os.environ.get("NOC_WORKER_STALE_SECONDS", "30")),
            queue_wait_seconds=float(os.environ.get("NOC_QUEUE_WAIT_SECONDS", "60")),
            db_connect_timeout_seconds=int(os.environ.get("NOC_DB_CONNECT_TIMEOUT_SECONDS", "5")),
            db_statement_timeout_seconds=int(os.environ.get("NOC_DB_STATEMENT_TIMEOUT_SECONDS", "0")),
            https=_bool(os.environ.get("NOC_HTTPS")),
            proxy_hops=int(os.environ.get("NOC_PROXY_HOPS", "0")),
        )

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(self.database_url, self.db_connect_timeout_seconds,
                                                        self.db_statement_timeout_seconds),
            "PORT": self.port,
            "NOC_POLICY_FILE": str(self.policy_path),
            "NOC_IN_PROCESS_WORKERS": self.run_workers_in_process,
            "NOC_WEB_THREADS": self.web_threads,
            "NOC_WEB_CONNECTIONS": self.web_connections,
            # The live console: how often a page polls, and how long a process keeps an
            # incident's notice counts (app/web/live.py).
            "NOC_LIVE_POLL_MS": int(os.environ.get("NOC_LIVE_POLL_MS", "2000")),
            "NOC_LIVE_CACHE_SECONDS": float(os.environ.get("NOC_LIVE_CACHE_SECONDS", "1.0")),
            # The notices panel's counts (app/notify/summary_cache.py): a live incident's may be
            # this old; counts nobody changed for the settle time are kept until a notice changes.
            "NOC_NOTICE_SUMMARY_TTL_SECONDS": float(os.environ.get("NOC_NOTICE_SUMMARY_TTL_SECONDS", "10")),
            "NOC_NOTICE_SUMMARY_SETTLE_SECONDS": float(os.environ.get("NOC_NOTICE_SUMMARY_SETTLE_SECONDS", "300")),
            "NOC_HEARTBEAT_SECONDS": self.heartbeat_seconds,
            "NOC_WORKER_STALE_SECONDS": self.worker_stale_seconds,
            "NOC_QUEUE_WAIT_SECONDS": self.queue_wait_seconds,
            "NOC_DB_CONNECT_TIMEOUT_SECONDS": self.db_connect_timeout_seconds,
            "JSON_AS_ASCII": False,
            # Request bodies: 1 MiB of JSON is far above any form of the API (a 5.5 MB body
            # took 5 s and tripled memory); CSV imports stream up to NOC_MAX_IMPORT_BYTES.
            "MAX_CONTENT_LENGTH": _int_env("NOC_MAX_JSON_BYTES", 1 << 20),
            "NOC_MAX_IMPORT_BYTES": _int_env("NOC_MAX_IMPORT_BYTES", 512 << 20),
            "NOC_HTTPS": self.https,
            "NOC_PROXY_HOPS": self.proxy_hops,
            # Set outright: Flask defines these keys, so a setdefault elsewhere would change nothing.
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_HTTPONLY": True,
            # flask-smorest / OpenAPI
            "API_TITLE": "NOC 故障指挥系统 API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api",
            "OPENAPI_JSON_PATH": "openapi.json",
            "OPENAPI_SWAGGER_UI_PATH": None,
        }


def engine_options(database_url: str, connect_timeout: int = 5, statement_timeout: int = 0) -> dict:
    if database_url.startswith("sqlite"):
        # Several threads (web, scheduler, sender) share the embedded file: wait for locks.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # pool_pre_ping: a pooled connection the server dropped (a restart, an outage) is replaced
    # before use, so the product recovers without a restart of its own.
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10,
            "connect_args": postgresql_connect_args(connect_timeout, statement_timeout)}


def postgresql_connect_args(connect_timeout: int, statement_timeout: int = 0) -> dict:
    """libpq options: a bounded connect, and TCP keepalives so a vanished server is noticed in
    seconds rather than at the operating system's default of two hours."""
    args = {"connect_timeout": connect_timeout, "keepalives": 1, "keepalives_idle": 5,
            "keepalives_interval": 2, "keepalives_count": 3}
    if statement_timeout:
        args["options"] = f"-c statement_timeout={int(statement_timeout) * 1000}"
    return args
