"""The real twilio library, pointed at Twilio or at the product's local gateway.

The library builds every URL from ``client.api.base_url`` ("https://api.twilio.com");
re-pointing that one attribute sends the very same requests (path, form fields, basic
auth) to the local gateway, so tests and the quick start always exercise the library.
"""
from __future__ import annotations

import threading

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.notify.settings import NotifySettings


def make_client(settings: NotifySettings, timeout: float = 15.0) -> Client:
    # pool_connections=True keeps one requests.Session per client: HTTP keep-alive.
    http_client = TwilioHttpClient(pool_connections=True, timeout=timeout)
    client = Client(settings.account_sid, settings.auth_token, http_client=http_client)
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
