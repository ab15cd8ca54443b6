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


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    port: int
    policy_path: Path
    # Scheduler, sender and local gateway inside `flask serve` (the embedded default); a
    # deployment that runs `flask scheduler run` / `flask sender run` sets this to 0.
    run_workers_in_process: bool
    # The site is served over HTTPS (behind a TLS proxy): session cookies are Secure, HSTS is sent.
    https: bool = False

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
            https=_bool(os.environ.get("NOC_HTTPS")),
        )

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(self.database_url),
            "PORT": self.port,
            "NOC_POLICY_FILE": str(self.policy_path),
            "NOC_IN_PROCESS_WORKERS": self.run_workers_in_process,
            "JSON_AS_ASCII": False,
            "NOC_HTTPS": self.https,
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


def engine_options(database_url: str) -> dict:
    if database_url.startswith("sqlite"):
        # Several threads (web, scheduler, sender) share the embedded file: wait for locks.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
