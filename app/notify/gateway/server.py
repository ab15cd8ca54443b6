"""Serving the gateway: waitress (HTTP/1.1 keep-alive) in the foreground or on a daemon thread."""
from __future__ import annotations

import logging
import threading

from waitress.server import create_server

from app.notify.gateway.app import GatewayApp

log = logging.getLogger(__name__)


class RunningGateway:
    def __init__(self, gateway: GatewayApp, host: str = "127.0.0.1", port: int = 0, threads: int = 4) -> None:
        self.gateway = gateway
        self.server = create_server(gateway, host=host, port=port, threads=threads, ident="noc-sms-gateway",
                                    connection_limit=1000, channel_timeout=60)
        self.port = self.server.effective_port
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "RunningGateway":
        self._thread = threading.Thread(target=self.server.run, name="sms-gateway", daemon=True)
        self._thread.start()
        log.info("local SMS gateway on %s", self.url)
        return self

    def stop(self) -> None:
        self.server.close()
