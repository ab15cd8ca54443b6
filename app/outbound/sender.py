"""The outbound worker: sends queued reports to the dispatch centre and the regulator until acknowledged.

Exactly once as far as the product can make it, and never lost:
- a claim (app/claims.py: SKIP LOCKED on PostgreSQL, a conditional UPDATE on SQLite, a claim
  token and a lease) is committed before anything is sent;
- every attempt of one report carries the same body and ``Idempotency-Key``, so a re-send after a
  crash mid-send (the lease ran out with no recorded outcome) is recognised by the receiver;
- a failed attempt is recorded guarded by the claim token, and retried with exponential back-off
  until a 2xx; the acknowledgement is recorded once (app/outbound/service.py).
Each cycle also checks the regulator-reportable line every ``regulator_check_seconds``.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

import requests
from sqlalchemy import select

from app import claims
from app.clock import utcnow
from app.extensions import db
from app.notify.outbox import backoff
from app.outbound import service
from app.outbound.models import OutboundReport
from app.outbound.settings import OutboundSettings
from app.outbound.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

OUTBOUND = claims.Outbox("outbound_reports", "status = 'queued' AND next_attempt_at <= :now", "next_attempt_at")
BATCH = 20


@dataclass
class Attempt:
    id: int
    target: str
    key: str
    body: str
    attempts: int
    in_doubt: bool


@dataclass
class Answer:
    acknowledged: bool
    at: datetime
    status_code: int | None = None
    receipt: str | None = None
    error: str | None = None


def post(settings: OutboundSettings, attempt: Attempt, http: requests.Session) -> Answer:
    """One signed POST; any 2xx is the acknowledgement, anything else (or no answer) a failure."""
    data = attempt.body.encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(data, settings.secret),
               IDEMPOTENCY_HEADER: attempt.key, "User-Agent": "noc-outbound/1"}
    try:
        response = http.post(settings.url_for(attempt.target), data=data, headers=headers,
                             timeout=settings.timeout_seconds)
    except requests.RequestException as exc:
        return Answer(False, utcnow(), error=f"{type(exc).__name__}（接收端不可达 unreachable）")
    if 200 <= response.status_code < 300:
        try:
            receipt = (response.json() or {}).get("receipt")
        except ValueError:
            receipt = None
        return Answer(True, utcnow(), response.status_code, receipt)
    return Answer(False, utcnow(), response.status_code, error=f"HTTP {response.status_code} {response.text[:120]}")


class OutboundSender:
    def __init__(self, app, settings: OutboundSettings, name: str | None = None) -> None:
        self.app = app
        self.settings = settings
        self.name = name or f"outbound-{uuid.uuid4().hex[:8]}"
        self.http = requests.Session()
        self.acknowledged_total = 0
        self.failed_total = 0
        self.last_cycle_at: datetime | None = None
        self._last_release: datetime | None = None
        self._last_regulator_check: datetime | None = None

    def run_once(self, *, check_regulator: bool | None = None) -> int:
        """One cycle: the regulator line when due, then one batch of due reports; returns how many were sent."""
        with self.app.app_context():
            try:
                self._regulator_line(check_regulator)
                handled = self._send_due()
            finally:
                db.session.remove()
        self.last_cycle_at = utcnow()
        return handled

    def run_forever(self, stop: threading.Event) -> None:
        log.info("%s started: dispatch %s, regulator %s", self.name, self.settings.dispatch_url,
                 self.settings.regulator_url)
        while not stop.is_set():
            try:
                handled = self.run_once()
            except Exception:  # noqa: BLE001 - the worker must outlive a bad cycle; the rows stay claimable
                log.exception("%s: cycle failed", self.name)
                handled = 0
            if not handled:
                stop.wait(self.settings.poll_seconds)

    def _regulator_line(self, force: bool | None) -> None:
        now = utcnow()
        due = self._last_regulator_check is None or (
            (now - self._last_regulator_check).total_seconds() >= self.settings.regulator_check_seconds)
        if force is False or (force is None and not due):
            return
        self._last_regulator_check = now
        queued = service.queue_regulator_crossings(now)
        db.session.commit()
        if queued:
            log.info("regulator line crossed: reports queued for incidents %s", queued)

    def _send_due(self) -> int:
        token = uuid.uuid4().hex
        now = utcnow()
        if self._last_release is None or (now - self._last_release).total_seconds() >= self.settings.lease_seconds / 4:
            claims.release_expired(OUTBOUND, now)
            self._last_release = now
        ids = claims.claim(OUTBOUND, token, now, self.settings.lease_seconds, BATCH)
        db.session.commit()   # the claim is ours before anything is sent
        if not ids:
            return 0
        rows = db.session.execute(select(
            OutboundReport.id, OutboundReport.target, OutboundReport.idempotency_key, OutboundReport.body,
            OutboundReport.attempts, OutboundReport.in_doubt_since).where(OutboundReport.claim_token == token)).all()
        db.session.rollback()   # hold no transaction (SQLite: no lock) while waiting on the receiver
        for row in rows:
            attempt = Attempt(row.id, row.target, row.idempotency_key, row.body, row.attempts,
                              in_doubt=row.in_doubt_since is not None)
            self._record(attempt, post(self.settings, attempt, self.http), token)
        return len(rows)

    def _record(self, attempt: Attempt, answer: Answer, token: str) -> None:
        if answer.acknowledged:
            if service.record_acknowledged(attempt.id, answer.at, answer.status_code, answer.receipt,
                                           resent=attempt.in_doubt):
                self.acknowledged_total += 1
        else:
            retry_at = answer.at + backoff(attempt.attempts, self.settings.backoff_base_seconds,
                                           self.settings.backoff_max_seconds)
            service.record_failure(attempt.id, token, answer.at, answer.error or "", retry_at, resent=attempt.in_doubt)
            self.failed_total += 1
            log.warning("outbound report %s to %s: attempt %d failed: %s", attempt.key, attempt.target,
                        attempt.attempts, answer.error)
        db.session.commit()
