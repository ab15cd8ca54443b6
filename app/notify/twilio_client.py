"""The real twilio library, pointed at Twilio or at the product's local gateway.

The library builds every URL from ``client.api.base_url`` ("https://api.twilio.com");
re-pointing that one attribute sends the very same requests (path, form fields, basic
auth) to the local gateway, so tests and the quick start always exercise the library.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
from urllib.parse import urlencode

import http.client
import ssl
from urllib.parse import urlsplit

import certifi
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from app.notify.settings import NotifySettings


class KeepAliveHttpClient(HttpClient):
    """The twilio library's HTTP client interface over one keep-alive ``http.client`` connection.

    The library's default client goes through a requests Session, which re-reads proxy and
    environment settings and rebuilds the request on every call, and sends headers and body
    in separate writes; at thousands of messages a second that client overhead, not the
    network, was the limit (bench/sender.py). One instance per thread: a connection is not
    shared. A broken keep-alive connection is re-opened once; errors surface as OSError /
    http.client exceptions, which the sender treats as transient.
    """

    def __init__(self, timeout: float = 15.0) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), False, timeout)
        self._connections: dict[tuple[str, str], http.client.HTTPConnection] = {}
        self._tls = ssl.create_default_context(cafile=certifi.where())

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        key = (scheme, netloc)
        connection = self._connections.get(key)
        if connection is None:
            if scheme == "https":
                connection = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=self._tls)
            else:
                connection = http.client.HTTPConnection(netloc, timeout=self.timeout)
            self._connections[key] = connection
        return connection

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False) -> Response:
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if parts.query else "?") + urlencode(params, doseq=True)
        body = None
        if data:
            if headers.get("Content-Type", "").endswith("json"):
                body = json.dumps(data).encode()
            else:
                body = urlencode(data, doseq=True).encode()
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        while True:
            key = (parts.scheme, parts.netloc)
            reused = key in self._connections
            connection = self._connection(parts.scheme, parts.netloc)
            try:
                connection.request(method.upper(), target, body=body, headers=headers)  # one write: headers + body
                response = connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                self._connections.pop(key, None)
                # A kept-alive connection the server had already closed: open a new one, once.
                # (Even if the request did arrive, the notice's callback URL is its idempotency key.)
                if not reused:
                    raise
            except Exception:
                connection.close()
                self._connections.pop(key, None)
                raise
        return Response(response.status, payload.decode("utf-8"), dict(response.getheaders()))


def make_client(settings: NotifySettings, timeout: float = 15.0) -> Client:
    client = Client(settings.account_sid, settings.auth_token, http_client=KeepAliveHttpClient(timeout))
    if settings.gateway_url:
        client.api.base_url = settings.gateway_url
    return client


class ThreadLocalClients:
    """One client (so one keep-alive connection pool) per sending thread: requests sessions are not shared."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._local = threading.local()

    def get(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = make_client(self.settings)
        return client


def sender_identity(settings: NotifySettings) -> dict:
    """A Messaging Service when configured (Twilio picks the number), else the from number."""
    if settings.messaging_service_sid:
        return {"messaging_service_sid": settings.messaging_service_sid}
    return {"from_": settings.from_number}
