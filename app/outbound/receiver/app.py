"""The local receiver as a small WSGI application: what an outside party does with our reports.

- ``POST /dispatch`` · ``POST /regulator``: verifies ``X-NOC-Signature`` (401 otherwise), needs an
  ``Idempotency-Key`` (400), dedupes by it (a repeat answers 200 with the first receipt and
  ``duplicate: true``), stores the message and answers ``200 {"status": "received", "receipt": …}``.
- ``GET /``: a page of what it received (newest first); ``GET /_receiver/messages``: the same as JSON.
- ``POST /_receiver/failures {"times": 3, "status": 503}``: the next N reports are refused (a
  receiver that is down for a while); ``POST /_receiver/reset``.
With ``store`` (a JSON-lines file) what it received survives a restart, dedupe included.
"""
from __future__ import annotations

import html
import json
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

from app.outbound.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

TARGETS = {"/dispatch": "服务调度中心", "/regulator": "监管机构"}


def _json(start_response, status: str, payload) -> list[bytes]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _environ_header(name: str) -> str:
    return "HTTP_" + name.upper().replace("-", "_")


class ReceiverApp:
    def __init__(self, secret: str, store: Path | None = None) -> None:
        self.secret = secret
        self.store = Path(store) if store else None
        self.lock = threading.Lock()
        self.received: list[dict] = []
        self.by_key: dict[str, dict] = {}
        self.requests_seen = 0
        self.duplicates = 0
        self.refused = 0
        self.fail_next = 0
        self.fail_status = 503
        if self.store and self.store.exists():
            for line in self.store.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._keep(json.loads(line))

    def _keep(self, message: dict) -> None:
        self.received.append(message)
        self.by_key[message["idempotency_key"]] = message

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if method == "POST" and path in TARGETS:
            return self._receive(path, body, environ, start_response)
        if method == "GET" and path == "/":
            return self._page(start_response)
        if method == "GET" and path == "/_receiver/messages":
            with self.lock:
                return _json(start_response, "200 OK", {"messages": list(reversed(self.received)),
                                                        "requests_seen": self.requests_seen,
                                                        "duplicates": self.duplicates, "refused": self.refused})
        if method == "POST" and path == "/_receiver/failures":
            rule = json.loads(body or b"{}")
            with self.lock:
                self.fail_next, self.fail_status = int(rule.get("times", 1)), int(rule.get("status", 503))
            return _json(start_response, "200 OK", {"fail_next": self.fail_next})
        if method == "POST" and path == "/_receiver/reset":
            with self.lock:
                self.received.clear(), self.by_key.clear()
                self.requests_seen = self.duplicates = self.refused = self.fail_next = 0
            return _json(start_response, "200 OK", {"reset": True})
        return _json(start_response, "404 Not Found", {"error": "not found"})

    def _receive(self, path: str, body: bytes, environ, start_response):
        with self.lock:
            self.requests_seen += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                self.refused += 1
                return _json(start_response, f"{self.fail_status} Unavailable", {"error": "receiver unavailable"})
        if not verify(body, self.secret, environ.get(_environ_header(SIGNATURE_HEADER))):
            return _json(start_response, "401 Unauthorized", {"error": f"bad or missing {SIGNATURE_HEADER}"})
        key = environ.get(_environ_header(IDEMPOTENCY_HEADER), "").strip()
        if not key:
            return _json(start_response, "400 Bad Request", {"error": f"missing {IDEMPOTENCY_HEADER}"})
        try:
            payload = json.loads(body)
        except ValueError:
            return _json(start_response, "400 Bad Request", {"error": "body is not JSON"})
        with self.lock:
            seen = self.by_key.get(key)
            if seen is not None:
                self.duplicates += 1
                return _json(start_response, "200 OK", {"status": "duplicate", "duplicate": True,
                                                        "receipt": seen["receipt"]})
            message = {"receipt": f"R-{uuid.uuid4().hex[:12]}", "target": path.strip("/"),
                       "idempotency_key": key, "received_at": datetime.now(timezone.utc).isoformat(),
                       "payload": payload}
            self._keep(message)
            if self.store:
                with self.store.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(message, ensure_ascii=False) + "\n")
        return _json(start_response, "200 OK", {"status": "received", "duplicate": False,
                                                "receipt": message["receipt"]})

    def _page(self, start_response):
        with self.lock:
            rows = list(reversed(self.received))
            counts = (self.requests_seen, self.duplicates, self.refused)
        cells = []
        for m in rows:
            p = m["payload"]
            scope = (p.get("scope") or {}).get("summary") or "、".join((p.get("scope") or {}).get("regions") or [])
            values = [m["received_at"], TARGETS.get("/" + m["target"], m["target"]), p.get("incident_number"),
                      p.get("grade_label"), p.get("fault_type"), scope, p.get("expected_recovery_at"),
                      m["idempotency_key"], m["receipt"]]
            cells.append("<tr>" + "".join(f"<td>{html.escape(str(v or '—'))}</td>" for v in values) + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("接收时间", "接收方", "故障单号", "等级", "故障类型", "影响范围",
                                                   "预计恢复", "幂等键", "回执"))
        page = (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>本地接收端</title></head><body>"
                f"<h1>本地接收端（调度中心 / 监管机构）</h1><p>已接收 {len(rows)} 条；请求 {counts[0]} 次，"
                f"重复 {counts[1]} 次（已按幂等键去重），拒绝 {counts[2]} 次。</p>"
                f"<table border='1' cellpadding='4'><tr>{head}</tr>{''.join(cells)}</table></body></html>")
        data = page.encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]
