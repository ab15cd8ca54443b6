"""Deadline enforcement (RULES §2): deadline records, the idempotent judge, the scheduler.

``init_app`` connects the incident signals, registers the scheduler as an in-process
worker of ``flask serve`` and its /healthz probe.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.scheduling import receivers
    from app.scheduling.health import scheduler_probe
    from app.scheduling.runner import start_in_process

    receivers.connect()
    app.extensions.setdefault("noc_in_process_workers", []).append(start_in_process)
    app.extensions["noc_health_probes"]["scheduler"] = scheduler_probe
