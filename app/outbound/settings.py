"""Outbound reports' settings from the environment (see app/outbound/README.md)."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from app.installation_secrets import read_or_create

# The shared secret, when NOC_OUTBOUND_SECRET is not set: random per installation, kept in the
# instance folder (0600) so that every process of the installation (the product, its workers,
# `flask outbound-receiver run`) signs and verifies with the same one.
SECRET_FILE = "outbound-secret"


@dataclass(frozen=True)
class OutboundSettings:
    dispatch_url: str
    regulator_url: str
    secret: str
    receiver_port: int               # the local receiver started by `flask serve`
    timeout_seconds: float           # one HTTP attempt
    lease_seconds: float             # a claim with no recorded outcome is sent again after this
    backoff_base_seconds: float
    backoff_max_seconds: float
    poll_seconds: float
    regulator_check_seconds: float   # how often open incidents are checked against the regulator line

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"

    @property
    def uses_local_receiver(self) -> bool:
        return self.dispatch_url.startswith(self.receiver_url + "/")

    def url_for(self, target: str) -> str:
        return self.dispatch_url if target == "dispatch" else self.regulator_url

    def with_(self, **changes) -> "OutboundSettings":
        return replace(self, **changes)


def installation_secret(instance_path: Path) -> str:
    """This installation's outbound secret, created owner-only on first start (first writer wins)."""
    return read_or_create(Path(instance_path) / SECRET_FILE)

def from_environment(instance_path: Path, env: dict | None = None) -> OutboundSettings:
    env = os.environ if env is None else env
    port = int(env.get("NOC_OUTBOUND_RECEIVER_PORT", "5097"))
    local = f"http://127.0.0.1:{port}"
    return OutboundSettings(
        dispatch_url=env.get("NOC_DISPATCH_URL") or f"{local}/dispatch",
        regulator_url=env.get("NOC_REGULATOR_URL") or f"{local}/regulator",
        secret=env.get("NOC_OUTBOUND_SECRET") or installation_secret(instance_path),
        receiver_port=port,
        timeout_seconds=float(env.get("NOC_OUTBOUND_TIMEOUT_SECONDS", "10")),
        lease_seconds=float(env.get("NOC_OUTBOUND_LEASE_SECONDS", "60")),
        backoff_base_seconds=float(env.get("NOC_OUTBOUND_BACKOFF_BASE_SECONDS", "5")),
        backoff_max_seconds=float(env.get("NOC_OUTBOUND_BACKOFF_MAX_SECONDS", "300")),
        poll_seconds=float(env.get("NOC_OUTBOUND_POLL_SECONDS", "1")),
        regulator_check_seconds=float(env.get("NOC_OUTBOUND_REGULATOR_CHECK_SECONDS", "30")),
    )


def current_settings() -> OutboundSettings:
    from flask import current_app

    return current_app.extensions["noc_outbound_settings"]
