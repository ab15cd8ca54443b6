"""The notifier's settings from the environment.

Real Twilio credentials (TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN and a Messaging Service
SID or a from number) switch the sender to Twilio itself; without them it talks to the
product's own local gateway (``flask sms-gateway run``, or in-process under ``flask serve``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from app.installation_secrets import read_or_create

LOCAL_GATEWAY_ACCOUNT_SID = "AC" + "0" * 30 + "01"
LOCAL_GATEWAY_FROM = "+8610690000"
# The local gateway's auth token (it signs the status callbacks) is random per installation,
# kept in the instance folder so that `flask serve`, `flask sender run` and
# `flask sms-gateway run` on this installation share it and nobody else knows it.
LOCAL_GATEWAY_TOKEN_FILE = "local-gateway-token"


@dataclass(frozen=True)
class NotifySettings:
    account_sid: str
    auth_token: str
    messaging_service_sid: str | None
    from_number: str | None
    gateway_url: str | None          # None: the real Twilio API
    gateway_port: int
    public_base_url: str             # where the provider posts status callbacks
    segments_per_second: float       # 0 = no limit
    sender_threads: int
    batch_size: int
    lease_seconds: int               # a claimed notice with no recorded outcome is retried after this
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    poll_seconds: float
    # The sender pool (app/notify/pool.py): empty = the one from number / Messaging Service at
    # segments_per_second. The limit is global: shared by every sender process via the database.
    identities: tuple = ()
    burst_seconds: float = 0.0       # an idle identity may send this many seconds' worth at once

    @property
    def uses_local_gateway(self) -> bool:
        return self.gateway_url is not None

    def with_(self, **changes) -> "NotifySettings":
        return replace(self, **changes)


def local_gateway_token(instance_path: Path) -> str:
    """This installation's local-gateway token, created (owner-only, 0600) on first start."""
    return read_or_create(Path(instance_path) / LOCAL_GATEWAY_TOKEN_FILE, what="token")

def from_environment(port: int = 5000, env: dict | None = None, *, instance_path: Path | None = None) -> NotifySettings:
    """``instance_path``: where the local-gateway token lives (default: the project's instance folder)."""
    from app.config import PROJECT_ROOT
    from app.notify.pool import parse_identities

    env = os.environ if env is None else env
    instance_path = PROJECT_ROOT / "instance" if instance_path is None else instance_path
    real = bool(env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN")
                and (env.get("TWILIO_MESSAGING_SERVICE_SID") or env.get("TWILIO_FROM")))
    gateway_port = int(env.get("NOC_SMS_GATEWAY_PORT", "5099"))
    common = dict(
        gateway_port=gateway_port,
        public_base_url=env.get("NOC_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        segments_per_second=float(env.get("NOC_SMS_SEGMENTS_PER_SECOND", "100")),
        sender_threads=int(env.get("NOC_SMS_SENDER_THREADS", "8")),
        batch_size=int(env.get("NOC_SMS_BATCH_SIZE", "200")),
        lease_seconds=int(env.get("NOC_SMS_LEASE_SECONDS", "120")),
        max_attempts=int(env.get("NOC_SMS_MAX_ATTEMPTS", "8")),
        backoff_base_seconds=float(env.get("NOC_SMS_BACKOFF_BASE_SECONDS", "5")),
        backoff_max_seconds=float(env.get("NOC_SMS_BACKOFF_MAX_SECONDS", "600")),
        poll_seconds=float(env.get("NOC_SMS_POLL_SECONDS", "1")),
        identities=parse_identities(env.get("NOC_SMS_IDENTITIES", "")),
        burst_seconds=float(env.get("NOC_SMS_BURST_SECONDS", "0")),
    )
    if real:
        return NotifySettings(
            account_sid=env["TWILIO_ACCOUNT_SID"], auth_token=env["TWILIO_AUTH_TOKEN"],
            messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            from_number=env.get("TWILIO_FROM") or None, gateway_url=None, **common)
    return NotifySettings(
        account_sid=LOCAL_GATEWAY_ACCOUNT_SID,
        auth_token=env.get("NOC_SMS_GATEWAY_TOKEN") or local_gateway_token(instance_path),
        messaging_service_sid=None, from_number=LOCAL_GATEWAY_FROM,
        gateway_url=env.get("NOC_SMS_GATEWAY_URL", f"http://127.0.0.1:{gateway_port}").rstrip("/"), **common)


def current_settings() -> NotifySettings:
    from flask import current_app

    return current_app.extensions["noc_notify_settings"]
