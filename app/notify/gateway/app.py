"""The gateway as a small WSGI application (no framework: it must answer thousands a second).

Answers, as Twilio does:
- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (HTTP basic auth with the
  account SID and the configured token) → ``201`` and a message resource, or Twilio's
  error body (``{"code": 21211, "status": 400, …}``).
- ``GET`` of the same path: the Messages list, newest first, filtered by ``To``, ``From``,
  ``DateSent``/``DateSent>``/``DateSent<`` (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SSZ``, bounds
  inclusive), paged with ``PageSize``/``Page`` in Twilio's list shape (``messages``, ``page``,
  ``page_size``, ``next_page_uri`` …), so the twilio library's ``messages.list``/``stream``
  work against it (the sender's look-up before re-sending an in-doubt claim).
Status callbacks ``queued → sent → delivered`` (or ``undelivered`` with 30003) are posted,
signed with ``X-Twilio-Signature`` exactly as Twilio signs them, to the message's
``StatusCallback`` from a background thread.

Idempotency: the ``StatusCallback`` URL carries the product's notice id, so a repeated
request with the same callback URL returns the message already created (no second SMS).
``idempotent=False`` (``flask sms-gateway run --no-idempotency``) answers like Twilio itself,
which takes no such key: every request is a new message.

- ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` (the Calls API: ``To``, ``From`` and
  ``Twiml`` or ``Url``) → ``201`` and a call resource, recorded with its TwiML (what it would say);
  ``GET`` lists them newest first, filtered by ``To`` and ``StartTime>``/``StartTime<`` (the sender's
  look-up before re-placing an in-doubt call). The same failure rules apply; a repeated
  ``StatusCallback`` returns the call already created. Inspection: ``GET /_gateway/calls``.

Failing on demand — by the destination number's last digits (default rules below), or by
rules added through ``POST /_gateway/failures`` {"suffix": "0429", "error": 429, "times": 2}:
  …21211 → 21211 invalid number, …21610 → 21610 unsubscribed recipient (permanent),
  …0429 → HTTP 429 twice then accepted, …0500 → HTTP 500 twice then accepted,
  …30003 → accepted, then ``undelivered`` with 30003 once, accepted normally on the retry.
Inspection: ``GET /_gateway/messages``; ``POST /_gateway/reset``.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
import logging
import queue
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlencode

import requests
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PERMANENT = {21211: "The 'To' number is not a valid phone number.",
             21610: "Attempt to send to unsubscribed recipient"}


@dataclass
class FailureRule:
    suffix: str
    error: int            # 21211 | 21610 | 429 | 500 | 30003
    times: int | None     # None: always
    hits: dict = field(default_factory=dict)  # per number

    def applies(self, to: str) -> bool:
        if not to.endswith(self.suffix):
            return False
        used = self.hits.get(to, 0)
        if self.times is not None and used >= self.times:
            return False
        self.hits[to] = used + 1
        return True


def default_rules() -> list[FailureRule]:
    return [FailureRule("21211", 21211, None), FailureRule("21610", 21610, None),
            FailureRule("0429", 429, 2), FailureRule("0500", 500, 2), FailureRule("30003", 30003, 1)]


def _json(start_response, status: str, payload, headers=()) -> list[bytes]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
    return [body]


class GatewayApp:
    def __init__(self, account_sid: str, auth_token: str, *, callbacks: bool = True,
                 latency_seconds: float = 0.0, rules: list[FailureRule] | None = None,
                 idempotent: bool = True) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.expected_auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.messages_path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.calls_path = f"/2010-04-01/Accounts/{account_sid}/Calls.json"
        self.latency_seconds = latency_seconds
        self.idempotent = idempotent
        self.rules = default_rules() if rules is None else rules
        self.messages: dict[str, dict] = {}
        self.by_callback: dict[str, str] = {}
        self.requests_seen = 0   # Messages create requests
        self.lookups_seen = 0    # Messages list requests
        self.calls: dict[str, dict] = {}
        self.calls_by_callback: dict[str, str] = {}
        self.call_requests_seen = 0   # Calls create requests
        self.call_lookups_seen = 0    # Calls list requests
        self._lock = threading.Lock()
        self._callbacks: queue.Queue | None = None
        if callbacks:
            self._callbacks = queue.Queue()
            threading.Thread(target=self._deliver_callbacks, name="sms-gateway-callbacks", daemon=True).start()

    # -- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if method == "POST" and path == self.messages_path:
            return self._create_message(environ, start_response)
        if method == "GET" and path == self.messages_path:
            return self._list_messages(environ, start_response)
        if method == "POST" and path == self.calls_path:
            return self._create_call(environ, start_response)
        if method == "GET" and path == self.calls_path:
            return self._list_calls(environ, start_response)
        if path.startswith("/2010-04-01/Accounts/") and path.endswith(("/Messages.json", "/Calls.json")):
            return _json(start_response, "401 Unauthorized", {"code": 20003, "status": 401, "message": "Authenticate"})
        if path == "/_gateway/messages":
            with self._lock:
                return _json(start_response, "200 OK", {"messages": list(self.messages.values())})
        if path == "/_gateway/calls":
            with self._lock:
                return _json(start_response, "200 OK", {"calls": list(self.calls.values())})
        if path == "/_gateway/reset" and method == "POST":
            self.reset()
            return _json(start_response, "200 OK", {"ok": True})
        if path == "/_gateway/failures" and method == "POST":
            try:
                spec = json.loads(_read(environ) or b"{}")
                self.add_failure(str(spec["suffix"]), int(spec["error"]), spec.get("times"))
            except (ValueError, KeyError, TypeError) as exc:
                return _json(start_response, "422 Unprocessable Entity", {"message": f"bad rule: {exc}"})
            return _json(start_response, "201 Created", {"ok": True})
        return _json(start_response, "404 Not Found", {"code": 20404, "status": 404, "message": "not found"})

    # -- control ------------------------------------------------------------------------
    def add_failure(self, suffix: str, error: int, times: int | None = None) -> None:
        with self._lock:
            self.rules.insert(0, FailureRule(suffix, error, times))

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.by_callback.clear()
            self.rules = default_rules()
            self.requests_seen = 0
            self.lookups_seen = 0
            self.calls.clear()
            self.calls_by_callback.clear()
            self.call_requests_seen = 0
            self.call_lookups_seen = 0

    # -- the Messages API ---------------------------------------------------------------
    def _create_message(self, environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != self.expected_auth:
            return _json(start_response, "401 Unauthorized", {"code": 20003, "status": 401, "message": "Authenticate"})
        form = {k: v[0] for k, v in parse_qs(_read(environ).decode(), keep_blank_values=True).items()}
        to, callback = form.get("To", ""), form.get("StatusCallback")
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        with self._lock:
            self.requests_seen += 1
            if self.idempotent and callback and callback in self.by_callback:
                # The same notice again (a sender died before recording the SID): same message.
                return _json(start_response, "201 Created", self.messages[self.by_callback[callback]])
            if not _E164.match(to):
                return self._error(start_response, 21211)
            rule = next((r for r in self.rules if r.applies(to)), None)
            if rule is not None and rule.error != 30003:
                return self._error(start_response, rule.error)
            sid = "SM" + uuid.uuid4().hex
            created = format_datetime(datetime.now(timezone.utc), usegmt=True)
            message = {
                "sid": sid, "account_sid": self.account_sid, "to": to,
                "from": form.get("From") or None, "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body", ""), "status": "queued", "num_segments": "1", "direction": "outbound-api",
                "api_version": "2010-04-01", "date_created": created, "date_sent": created, "price": None,
                "error_code": None, "error_message": None, "uri": f"{self.messages_path[:-5]}/{sid}.json",
                "validity_period": form.get("ValidityPeriod"), "status_callback": callback,
            }
            self.messages[sid] = message
            if callback:
                self.by_callback[callback] = sid
        if callback and self._callbacks is not None:
            self._callbacks.put((message, 30003 if rule is not None else None))
        return _json(start_response, "201 Created", message)

    def _list_messages(self, environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != self.expected_auth:
            return _json(start_response, "401 Unauthorized", {"code": 20003, "status": 401, "message": "Authenticate"})
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        try:
            matches = _message_filter(query)
            page, page_size = int(query.get("Page", 0)), min(max(int(query.get("PageSize", 50)), 1), 1000)
        except ValueError as exc:
            return _json(start_response, "400 Bad Request", {"code": 20001, "status": 400, "message": str(exc)})
        with self._lock:
            self.lookups_seen += 1
            found = [dict(m) for m in reversed(self.messages.values()) if matches(m)]
        return _json(start_response, "200 OK", self._page(found, query, page, page_size))

    def _page(self, found: list[dict], query: dict, page: int, page_size: int, path: str | None = None) -> dict:
        start = page * page_size
        records = found[start:start + page_size]

        def uri(number: int) -> str:
            return f"{path or self.messages_path}?{urlencode({**query, 'Page': number, 'PageSize': page_size})}"

        return {"messages": records, "page": page, "page_size": page_size, "start": start,
                "end": start + max(len(records) - 1, 0), "uri": uri(page), "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if start + page_size < len(found) else None,
                "previous_page_uri": uri(page - 1) if page > 0 else None}

    # -- the Calls API (voice calls to tier 3) --------------------------------------------
    def _create_call(self, environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != self.expected_auth:
            return _json(start_response, "401 Unauthorized", {"code": 20003, "status": 401, "message": "Authenticate"})
        form = {k: v[0] for k, v in parse_qs(_read(environ).decode(), keep_blank_values=True).items()}
        to, callback = form.get("To", ""), form.get("StatusCallback")
        if not (form.get("Twiml") or form.get("Url") or form.get("ApplicationSid")):
            return _json(start_response, "400 Bad Request", {
                "code": 21205, "status": 400, "message": "Url parameter is required."})
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        with self._lock:
            self.call_requests_seen += 1
            if self.idempotent and callback and callback in self.calls_by_callback:
                return _json(start_response, "201 Created", self.calls[self.calls_by_callback[callback]])
            if not _E164.match(to):
                return self._error(start_response, 21211)
            rule = next((r for r in self.rules if r.applies(to)), None)
            if rule is not None and rule.error != 30003:
                return self._error(start_response, rule.error)
            sid = "CA" + uuid.uuid4().hex
            created = format_datetime(datetime.now(timezone.utc), usegmt=True)
            call = {
                "sid": sid, "account_sid": self.account_sid, "to": to, "to_formatted": to,
                "from": form.get("From") or None, "from_formatted": form.get("From") or None, "status": "queued",
                "direction": "outbound-api", "api_version": "2010-04-01", "date_created": created,
                "date_updated": created, "start_time": created, "end_time": None, "duration": None, "price": None,
                "twiml": form.get("Twiml"), "url": form.get("Url"), "status_callback": callback,
                "uri": f"{self.calls_path[:-5]}/{sid}.json",
            }
            self.calls[sid] = call
            if callback:
                self.calls_by_callback[callback] = sid
        return _json(start_response, "201 Created", call)

    def _list_calls(self, environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != self.expected_auth:
            return _json(start_response, "401 Unauthorized", {"code": 20003, "status": 401, "message": "Authenticate"})
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        try:
            after, before = _moment(query.get("StartTime>")), _moment(query.get("StartTime<"))
            page, page_size = int(query.get("Page", 0)), min(max(int(query.get("PageSize", 50)), 1), 1000)
        except ValueError as exc:
            return _json(start_response, "400 Bad Request", {"code": 20001, "status": 400, "message": str(exc)})
        to = query.get("To")

        def matches(call: dict) -> bool:
            started = parsedate_to_datetime(call["start_time"])
            return ((to is None or call["to"] == to) and (after is None or started >= after)
                    and (before is None or started <= before))

        with self._lock:
            self.call_lookups_seen += 1
            found = [dict(c) for c in reversed(self.calls.values()) if matches(c)]
        listing = self._page(found, query, page, page_size, path=self.calls_path)
        listing["calls"] = listing.pop("messages")
        return _json(start_response, "200 OK", listing)

    def _error(self, start_response, error: int):
        if error in PERMANENT:
            return _json(start_response, "400 Bad Request", {
                "code": error, "message": PERMANENT[error], "status": 400,
                "more_info": f"https://www.twilio.com/docs/errors/{error}"})
        if error == 429:
            return _json(start_response, "429 Too Many Requests", {
                "code": 20429, "message": "Too Many Requests", "status": 429}, headers=[("Retry-After", "1")])
        return _json(start_response, "500 Internal Server Error", {
            "code": 20500, "message": "Internal Server Error", "status": 500})

    # -- status callbacks ---------------------------------------------------------------
    def signed_post(self, session: requests.Session, url: str, params: dict) -> int:
        signature = self.validator.compute_signature(url, params)
        response = session.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
        return response.status_code

    def _deliver_callbacks(self) -> None:
        session = requests.Session()
        while True:
            message, error = self._callbacks.get()
            final = [("sent", None), ("undelivered", "30003")] if error else [("sent", None), ("delivered", None)]
            for status, code in [("queued", None), *final]:
                params = {"MessageSid": message["sid"], "SmsSid": message["sid"], "AccountSid": self.account_sid,
                          "MessageStatus": status, "SmsStatus": status, "To": message["to"],
                          "From": message["from"] or "", "ApiVersion": "2010-04-01"}
                if code:
                    params["ErrorCode"] = code
                with self._lock:
                    message["status"] = status
                    message["error_code"] = code
                try:
                    self.signed_post(session, message["status_callback"], params)
                except requests.RequestException as exc:
                    log.warning("status callback for %s failed: %s", message["sid"], exc)
                    break


def _message_filter(query: dict):
    """Twilio's list filters: To, From and DateSent (a day) / DateSent> / DateSent< (inclusive)."""
    to, sender = query.get("To"), query.get("From")
    day = query.get("DateSent")
    after, before = _moment(query.get("DateSent>")), _moment(query.get("DateSent<"))

    def matches(message: dict) -> bool:
        sent = parsedate_to_datetime(message["date_sent"])
        return ((to is None or message["to"] == to) and (sender is None or message["from"] == sender)
                and (day is None or sent.date().isoformat() == day)
                and (after is None or sent >= after) and (before is None or sent <= before))
    return matches


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r}")


def _read(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""
