"""Reports out (上报 to the dispatch centre, reports to the regulator; RULES §9): a signed JSON
message per obligation, retried until the receiver acknowledges it. ``init_app`` wires the
settings, the in-process worker and the local receiver of ``flask serve``."""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from flask import Flask

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    from app.outbound.settings import from_environment

    app.extensions["noc_outbound_settings"] = from_environment(Path(app.instance_path))
    app.extensions.setdefault("noc_in_process_workers", []).append(start_in_process)
    app.extensions["noc_health_probes"]["outbound"] = lambda: _probe(app)


def _probe(app: Flask) -> dict:
    from app.outbound.health import outbound_probe

    return outbound_probe(app)


def start_in_process(app: Flask) -> None:
    """Under ``flask serve``: the local receiver (when the URLs point at it) and one outbound worker."""
    from app.outbound.receiver.app import ReceiverApp
    from app.outbound.receiver.server import RunningReceiver
    from app.outbound.sender import OutboundSender

    settings = app.extensions["noc_outbound_settings"]
    if settings.uses_local_receiver:
        try:
            store = os.environ.get("NOC_OUTBOUND_RECEIVER_STORE") or Path(app.instance_path) / "outbound-received.jsonl"
            receiver = ReceiverApp(settings.secret, Path(store))
            app.extensions["noc_outbound_receiver"] = RunningReceiver(receiver, port=settings.receiver_port).start()
        except OSError as exc:
            # Another receiver (e.g. `flask outbound-receiver run`) may already own the port: use it.
            log.warning("local outbound receiver not started on port %s (%s)", settings.receiver_port, exc)
    sender = OutboundSender(app, settings, name="outbound-in-process")
    stop = threading.Event()
    app.extensions["noc_outbound_sender"] = (sender, stop)
    threading.Thread(target=sender.run_forever, args=(stop,), name="outbound-sender", daemon=True).start()
