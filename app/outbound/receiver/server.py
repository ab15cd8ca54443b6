"""Serving the local receiver: the standard library's WSGI server, one thread per request."""
from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

log = logging.getLogger(__name__)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        log.debug("receiver: " + format, *args)


class RunningReceiver:
    def __init__(self, receiver, host: str = "127.0.0.1", port: int = 0) -> None:
        self.receiver = receiver
        self.server = make_server(host, port, receiver, server_class=_Server, handler_class=_QuietHandler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"

    def start(self) -> "RunningReceiver":
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                         name="outbound-receiver", daemon=True).start()
        log.info("local outbound receiver on %s", self.url)
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
