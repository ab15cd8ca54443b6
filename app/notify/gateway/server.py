"""Serving the gateway.

A small threaded HTTP/1.1 server with keep-alive: one thread per connection parses the
request and calls the WSGI app directly. The gateway has to answer thousands of requests
a second on a shared 2-core machine so that the sender, not the gateway, is what a
benchmark measures; waitress (task queue and thread hand-off per request) peaked near
1,000/s here. The gateway's clients (the twilio library, the tests) always send
``Content-Length``; chunked request bodies are not supported.
"""
from __future__ import annotations

import io
import logging
import socket
import socketserver
import sys
import threading

from app.notify.gateway.app import GatewayApp

log = logging.getLogger(__name__)


class _Connection(socketserver.StreamRequestHandler):
    rbufsize = 65536

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        app = self.server.wsgi_app
        while True:
            request_line = self.rfile.readline(65537)
            if not request_line or request_line in (b"\r\n", b"\n"):
                return
            try:
                method, target, version = request_line.decode("latin-1").split()
            except ValueError:
                return
            headers = {}
            while True:
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                return  # the client went away mid-request (e.g. a killed sender): never act on half a request
            path, _, query = target.partition("?")
            environ = {
                "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_PROTOCOL": version,
                "CONTENT_LENGTH": str(length), "CONTENT_TYPE": headers.get("content-type", ""),
                "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(self.server.server_address[1]),
                "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
                "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            }
            for name, value in headers.items():
                environ["HTTP_" + name.upper().replace("-", "_")] = value
            answer: list = []
            chunks = app(environ, lambda status, response_headers, exc_info=None: answer.extend((status, response_headers)))
            payload = b"".join(chunks)
            status, response_headers = answer
            head = "".join([f"HTTP/1.1 {status}\r\n",
                            *(f"{k}: {v}\r\n" for k, v in response_headers if k.lower() != "content-length"),
                            f"Content-Length: {len(payload)}\r\n\r\n"])
            self.wfile.write(head.encode("latin-1") + payload)
            if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class RunningGateway:
    def __init__(self, gateway: GatewayApp, host: str = "127.0.0.1", port: int = 0) -> None:
        # One thread per connection (a ThreadingMixIn server).
        self.gateway = gateway
        self.server = _Server((host, port), _Connection)
        self.server.wsgi_app = gateway
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "RunningGateway":
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="sms-gateway", daemon=True)
        self._thread.start()
        log.info("local SMS gateway on %s", self.url)
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
