"""Deadline enforcement (RULES §2): deadline records, the idempotent judge, the scheduler.

``init_app`` registers the scheduler as an in-process worker of ``flask serve`` and its
/healthz probe. The incident transitions change deadlines through ``service``, called
from ``app.incidents.flows``.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.scheduling.health import scheduler_probe
    from app.scheduling.runner import start_in_process

    app.extensions.setdefault("noc_in_process_workers", []).append(start_in_process)
    app.extensions["noc_health_probes"]["scheduler"] = scheduler_probe
