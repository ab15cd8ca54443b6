"""Notices to subscribers (用户通知): templates, the outbox, the sender, provider webhooks and
the local Twilio-compatible gateway. ``init_app`` wires it into the product."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    from app.notify.settings import from_environment

    # The twilio library logs every request and its headers at INFO: far too much at 2,000/s.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    settings = from_environment(port=app.config.get("PORT", 5000), instance_path=Path(app.instance_path))
    app.extensions["noc_notify_settings"] = settings
    app.extensions["noc_in_process_workers"] = app.extensions.get("noc_in_process_workers", [])
    app.extensions["noc_in_process_workers"].append(start_in_process)
    app.extensions["noc_health_probes"]["sms_sender"] = lambda: sender_probe(app)


def start_in_process(app: Flask) -> None:
    """Under ``flask serve``: the local gateway (unless real Twilio is configured) and one sender thread."""
    from app.notify.gateway.app import GatewayApp
    from app.notify.gateway.server import RunningGateway
    from app.notify.sender import Sender

    settings = app.extensions["noc_notify_settings"]
    if settings.uses_local_gateway and settings.gateway_url == f"http://127.0.0.1:{settings.gateway_port}":
        try:
            gateway = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token), port=settings.gateway_port)
            app.extensions["noc_sms_gateway"] = gateway.start()
        except OSError as exc:
            # Another gateway (e.g. ``flask sms-gateway run``) may already own the port: use it.
            log.warning("local SMS gateway not started on port %s (%s); using %s", settings.gateway_port, exc,
                        settings.gateway_url)
    sender = Sender(app, settings, name="sender-in-process")
    stop = threading.Event()
    app.extensions["noc_sms_sender"] = (sender, stop)
    threading.Thread(target=sender.run_forever, args=(stop,), name="sms-sender", daemon=True).start()


def sender_probe(app: Flask) -> dict:
    from app.extensions import db
    from app.notify.health import queue_health

    settings = app.extensions["noc_notify_settings"]
    running = app.extensions.get("noc_sms_sender")
    try:
        state = queue_health(app)
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
        db.session.rollback()
        state = {"ok": False, "error": type(exc).__name__}
    state.update(provider="local-gateway" if settings.uses_local_gateway else "twilio", in_process=running is not None)
    if running is not None:
        sender, stop = running
        state.update(ok=state["ok"] and not stop.is_set(), sent=sender.sent_total,
                     last_cycle_at=sender.last_cycle_at.isoformat() if sender.last_cycle_at else None)
    return state
