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

import certifi
import urllib3
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from app.notify.settings import NotifySettings


class KeepAliveHttpClient(HttpClient):
    """The twilio library's HTTP client interface over urllib3 (what requests itself sits on).

    The library's default client goes through a requests Session, which re-reads proxy
    and environment settings and rebuilds the request on every call; at thousands of
    messages a second that overhead, not the network, was the limit. This keeps one
    keep-alive connection pool per client and nothing else.
    """

    def __init__(self, timeout: float = 15.0) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), False, timeout)
        self.pool = urllib3.PoolManager(num_pools=4, maxsize=2, retries=False, ca_certs=certifi.where())

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False) -> Response:
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        body = None
        if data:
            if headers.get("Content-Type", "").endswith("json"):
                body = json.dumps(data)
            else:
                body = urlencode(data, doseq=True)
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        response = self.pool.request(method.upper(), url, body=body, headers=headers, redirect=allow_redirects,
                                     timeout=timeout or self.timeout)
        return Response(response.status, response.data.decode("utf-8"), response.headers)


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
