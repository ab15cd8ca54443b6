"""The SMS sender: claims batches from the outbox and hands them to the provider.

Exactly once, and nothing lost when a process dies:
- A claim is committed before anything is sent (app/claims.py): ``queued`` rows become
  ``sending`` with a claim token, the claim time and a lease.
- Each notice carries its own id in ``status_callback``; the local gateway returns the
  already-created message for a repeated callback URL, and a status callback records the
  provider SID against the notice even when the sender died before it could.
- A row still ``sending`` after its lease ("claimed, outcome unknown") is queued again, in
  doubt since its claim. Before re-sending it the sender asks the provider for a message to
  the same number with the same body sent since that claim and adopts its SID when there is
  one (app/notify/provider_lookup.py): Twilio's Messages API takes no idempotency key, so
  this look-up is what keeps a crash from becoming a second SMS.
- Outcomes are written guarded by the claim token, so a sender whose lease expired can
  never overwrite the work of the one that took over.
Staff alerts (``staff_alerts``), then tier 3's voice calls (``oncall_calls``, app/notify/voice.py),
are drained before any subscriber notice, with the same claims; notices with a deadline are
claimed due soonest first. Lookup codes (app/public/lookup_sms.py) come after all of them, in a
small lane that cannot starve. Each message waits for its slot in the sender pool and goes out
from the identity that slot is on (app/notify/pool.py: the rate limit is global, shared by every
sender process through the database).
"""
from __future__ import annotations

import functools
import itertools
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import requests
import urllib3
from sqlalchemy import Integer, and_, any_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased
from twilio.base.exceptions import TwilioRestException

from app.clock import utcnow
from app.db_types import UTCDateTime
from app.extensions import db
from app import claims
from app.notify.fulfilment import check_fulfilment
from app.notify.models import Notice, NoticeBatch, NoticeText
from app.notify.outbox import backoff, validity_seconds
from app.notify.personal import render_for_recipients
from app.notify.provider_lookup import find_sent
from app.notify.pool import GlobalLimiter, configured_identities, sync_identities
from app.notify.settings import NotifySettings
from app.notify.templates import count_segments
from app.notify import voice
from app.notify.twilio_client import ThreadLocalClients
from app.oncall import calls as voice_calls
from app.ops.heartbeats import Heartbeat
from app.phones import mask
from app.public import lookup_sms
from app.staff import service as staff_alerts
from app.subscribers.models import Subscriber

log = logging.getLogger(__name__)
_UTC = UTCDateTime()

# Twilio error codes that end a notice for good, and the one that also means "opted out".
OPTED_OUT_CODES = {"21610"}
TRANSIENT_CODES = {"30003", "20429"}
WEBHOOK_PATH = "/api/v1/webhooks/sms/status"


@dataclass
class Outgoing:
    id: int
    phone: str
    body: str
    segments: int
    deadline_at: datetime | None
    callback: str
    batch_id: int | None = None
    subscriber_id: int | None = None
    attempts: int = 1
    skip_reason: str | None = None   # opted out since queuing: not sent
    in_doubt_since: datetime | None = None  # an earlier claim may have reached the provider


@dataclass
class Outcome:
    outgoing: Outgoing
    result: str          # accepted | retry | failed
    sid: str | None = None
    code: str | None = None


def classify_error(exc: Exception) -> tuple[str, str]:
    """(retry|failed, code) for a provider error: 429, 5xx, 30003 and network errors are transient."""
    if isinstance(exc, TwilioRestException):
        code = str(exc.code or exc.status)
        if exc.status == 429 or exc.status >= 500 or code in TRANSIENT_CODES:
            return "retry", code
        return "failed", code
    if isinstance(exc, (requests.RequestException, urllib3.exceptions.HTTPError, OSError)):
        return "retry", type(exc).__name__
    return "failed", type(exc).__name__


class Sender:
    def __init__(self, app, settings: NotifySettings, name: str | None = None) -> None:
        self.app = app
        self.settings = settings
        self.name = name or f"sender-{uuid.uuid4().hex[:8]}"
        self.clients = ThreadLocalClients(settings)
        self.identities = configured_identities(settings)
        with app.app_context():
            with db.engine.begin() as connection:
                sync_identities(connection, self.identities)
            # The limit is global: every sender process reserves on the same identity rows.
            self.limiter = GlobalLimiter(db.engine, self.identities, burst_seconds=settings.burst_seconds)
            self.pool_rate = self.limiter.total_rate
        self.pool = ThreadPoolExecutor(max_workers=max(1, settings.sender_threads), thread_name_prefix=self.name)
        self.sent_total = 0
        self.last_cycle_at: datetime | None = None
        self._last_release: datetime | None = None
        self._cycles = itertools.count(1)

    # -- one cycle -----------------------------------------------------------------------
    def run_once(self, *, parallel: bool = True, limit: int | None = None) -> int:
        """Send one batch of staff alerts, else one of subscriber notices; returns how many were handled.

        ``parallel``: send the batch from the thread pool (``--once`` and tests); the long-running
        workers instead each send their own smaller batch sequentially, so that one thread's
        database work overlaps the others' sending.
        """
        with self.app.app_context():
            try:
                handled = (self._staff_alerts(parallel) or self._voice_calls()
                           or self._notices(parallel, limit or self.settings.batch_size))
                if not handled or next(self._cycles) % self._lookup_rules()["sender_lane_every"] == 0:
                    handled += self._lookup_codes(parallel)
            finally:
                db.session.remove()
            self.last_cycle_at = utcnow()
            return handled

    def run_forever(self, stop: threading.Event) -> None:
        threads = max(1, self.settings.sender_threads)
        log.info("%s started: %d threads, %s, %d identities, %s segments/s in all (shared by every sender)",
                 self.name, threads,
                 "local gateway " + self.settings.gateway_url if self.settings.uses_local_gateway else "Twilio",
                 len(self.identities), self.pool_rate or "unlimited")
        limit = max(10, self.settings.batch_size // threads)
        heartbeat = Heartbeat(self.app, "sender").start()
        workers = [threading.Thread(target=self._worker, args=(stop, limit), name=f"{self.name}-{i}", daemon=True)
                   for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        heartbeat.stop()
        self.pool.shutdown(wait=True)

    def _worker(self, stop: threading.Event, limit: int) -> None:
        while not stop.is_set():
            try:
                handled = self.run_once(parallel=False, limit=limit)
            except Exception:  # noqa: BLE001 - the sender must outlive a bad cycle; the rows stay claimable
                log.exception("%s: cycle failed", self.name)
                handled = 0
            if not handled:
                stop.wait(self.settings.poll_seconds)

    # -- subscriber notices ------------------------------------------------------------
    def _notices(self, parallel: bool, limit: int) -> int:
        token = uuid.uuid4().hex
        ids = self._claim_notices(token, limit)
        if not ids:
            return 0
        outgoing = self._load_notices(token, ids)
        outcomes = self._send_all(outgoing, parallel)
        self._record_notices(outcomes, token)
        return len(ids)

    def _claim_notices(self, token: str, limit: int) -> list[int]:
        now = utcnow()
        if self._last_release is None or (now - self._last_release).total_seconds() >= self.settings.lease_seconds / 4:
            release_expired_claims(now)
            self._last_release = now
        limit = self._claim_limit(limit)
        # Notices due soonest first (by their deadline), then the rest in the order they fell due.
        ids = claims.claim(claims.NOTICES_BY_DEADLINE, token, now, self.settings.lease_seconds, limit)
        if len(ids) < limit:
            ids += claims.claim(claims.NOTICES, token, now, self.settings.lease_seconds, limit - len(ids))
        db.session.commit()   # the claim is ours before anything is sent
        return ids

    def _claim_limit(self, limit: int) -> int:
        """No more than the pool can send well within the lease: a claim waiting for its slots
        behind every other thread's must not outlive its lease (that would make it in doubt)."""
        if not self.pool_rate:
            return limit
        threads = max(1, self.settings.sender_threads)
        return max(1, min(limit, int(self.pool_rate * self.settings.lease_seconds / 8 / threads)))

    def _load_notices(self, token: str, ids: list[int]) -> list[Outgoing]:
        default_language = self.app.extensions["noc_policy"].data["notices"]["default_language"]
        rows = db.session.execute(_load_statement(db.session.get_bind().dialect.name), {
            "ids": ids, "token": token, "default_language": default_language}).all()
        base = self.settings.public_base_url + WEBHOOK_PATH
        # Each subscriber's own fields filled in, and the real segment count (app/notify/personal.py).
        return render_for_recipients([Outgoing(id=r[0], phone=r[1], body=r[2], segments=r[3], deadline_at=r[4],
                         callback=f"{base}?notice={r[0]}" + (f"&round={r[10]}" if r[10] else ""), batch_id=r[5], subscriber_id=r[6], attempts=r[7],
                         skip_reason="opted_out" if r[8] is not None and not r[9] else None,
                         in_doubt_since=r[11]) for r in rows], self.app.extensions["noc_policy"])

    def _record_notices(self, outcomes: list[Outcome], token: str) -> None:
        now = utcnow()
        accepted = [{"id": o.outgoing.id, "sid": o.sid, "segments": o.outgoing.segments}
                    for o in outcomes if o.result == "accepted"]
        retries = [o for o in outcomes if o.result == "retry"]
        failed = [o for o in outcomes if o.result == "failed"]
        if accepted:
            record_accepted(accepted, token, now)
        give_up = [o for o in retries if o.outgoing.attempts >= self.settings.max_attempts]
        retry = [o for o in retries if o.outgoing.attempts < self.settings.max_attempts]
        if retry:
            db.session.execute(text("""
                UPDATE notices SET status = 'queued', next_attempt_at = :at, error_code = :code, claim_token = NULL,
                       updated_at = :now
                WHERE id = :id AND claim_token = :token AND status = 'sending'""").bindparams(
                bindparam("now", type_=_UTC), bindparam("at", type_=_UTC)),
                [{"id": o.outgoing.id, "code": o.code, "token": token, "now": now,
                  "at": self._retry_at(o.outgoing.attempts, now)} for o in retry])
        if failed or give_up:
            db.session.execute(text("""
                UPDATE notices SET status = 'failed', error_code = :code, claim_token = NULL, in_doubt_since = NULL,
                       updated_at = :now
                WHERE id = :id AND claim_token = :token AND status = 'sending'""").bindparams(
                bindparam("now", type_=_UTC)),
                [{"id": o.outgoing.id, "code": o.code, "token": token, "now": now} for o in failed + give_up])
        opted_out = [o.outgoing.subscriber_id for o in failed
                     if o.code in OPTED_OUT_CODES and o.outgoing.subscriber_id is not None]
        if opted_out:
            db.session.execute(update(Subscriber).where(
                Subscriber.id.in_(opted_out), Subscriber.opted_out_at.is_(None)).values(
                opted_out_at=now, opted_out_source="carrier_21610", updated_at=now))
        check_fulfilment({o.outgoing.batch_id for o in outcomes})
        if db.session.get_bind().dialect.name == "postgresql":
            # The outcome need not wait for its WAL flush: should the database crash and lose it,
            # the rows are still claimed, their lease runs out and they are looked up at the
            # provider (in doubt), never sent again. The claim's commit stays synchronous: a lost
            # claim would make a sent notice plain "queued" again, with no look-up.
            db.session.execute(text("SET LOCAL synchronous_commit = off"))
        db.session.commit()
        self.sent_total += len(accepted)

    # -- staff alerts ------------------------------------------------------------------
    def _staff_alerts(self, parallel: bool) -> int:
        if not staff_alerts.any_pending():   # the usual case: no write at all
            return 0
        token = uuid.uuid4().hex
        now = utcnow()
        staff_alerts.release_expired_claims(now)
        claimed = staff_alerts.claim_queued(token, self.settings.batch_size, now, self.settings.lease_seconds)
        db.session.commit()
        if not claimed:
            return 0
        base = self.settings.public_base_url + WEBHOOK_PATH
        outgoing = [Outgoing(id=a.id, phone=a.phone or "", body=a.message, segments=count_segments(a.message).segments,
                             deadline_at=None, callback=f"{base}?staff_alert={a.id}", attempts=a.attempts,
                             skip_reason=None if a.phone else "no_phone", in_doubt_since=a.in_doubt_since)
                    for a in claimed]
        return self._send_and_record(outgoing, parallel, token, staff_alerts.record_attempt)

    # -- lookup codes ("is my line affected?"): after alerts and notices, a small lane ---------
    def _lookup_rules(self) -> dict:
        return self.app.extensions["noc_policy"].status_lookup

    def _lookup_codes(self, parallel: bool) -> int:
        token, now, rules = uuid.uuid4().hex, utcnow(), self._lookup_rules()
        claimed = lookup_sms.claim_queued(token, rules["sender_lane_batch"], now, self.settings.lease_seconds,
                                          rules["code_minutes"])
        db.session.commit()
        if not claimed:
            return 0
        base = self.settings.public_base_url + WEBHOOK_PATH
        outgoing = [Outgoing(id=c.id, phone=c.phone, body=c.body, segments=count_segments(c.body).segments,
                             deadline_at=c.expires_at, callback=f"{base}?lookup_code={c.key}", attempts=c.attempts,
                             in_doubt_since=c.in_doubt_since) for c in claimed]
        return self._send_and_record(outgoing, parallel, token, lookup_sms.record_attempt)

    def _send_and_record(self, outgoing: list[Outgoing], parallel: bool, token: str, record_attempt) -> int:
        """Send a claimed lane (staff alerts, lookup codes) and record each outcome under the claim."""
        now = utcnow()
        for outcome in self._send_all(outgoing, parallel):
            retry = outcome.result == "retry" and outcome.outgoing.attempts < self.settings.max_attempts
            record_attempt(outcome.outgoing.id, token, accepted=outcome.result == "accepted", sid=outcome.sid,
                           error_code=outcome.code, now=now,
                           retry_at=self._retry_at(outcome.outgoing.attempts, now) if retry else None)
        db.session.commit()
        return len(outgoing)

    def _retry_at(self, attempts: int, now):
        return now + backoff(attempts, self.settings.backoff_base_seconds, self.settings.backoff_max_seconds)

    # -- voice calls to tier 3 ---------------------------------------------------------
    def _voice_calls(self) -> int:
        if not voice_calls.any_pending():   # the usual case: no write at all
            return 0
        token = uuid.uuid4().hex
        now = utcnow()
        voice_calls.release_expired_claims(now)
        claimed = voice_calls.claim_queued(token, self.settings.batch_size, now, self.settings.lease_seconds)
        db.session.commit()   # the claim is ours before any call is placed
        if not claimed:
            return 0
        outcomes = [voice.place(self.clients.get(), self.settings, call, classify_error) for call in claimed]
        now = utcnow()
        for call, (result, sid, code) in zip(claimed, outcomes):
            retry = result == "retry" and call.attempts < self.settings.max_attempts
            voice_calls.record_attempt(
                call.id, token, placed=result == "accepted", sid=sid, error_code=code, now=now,
                retry_at=self._retry_at(call.attempts, now) if retry else None)
        db.session.commit()
        return len(claimed)

    # -- the provider ------------------------------------------------------------------
    def _send_all(self, outgoing: list[Outgoing], parallel: bool) -> list[Outcome]:
        if parallel:
            return list(self.pool.map(self._send_one, outgoing))
        return [self._send_one(item) for item in outgoing]

    def _send_one(self, item: Outgoing) -> Outcome:
        if item.skip_reason:
            return Outcome(item, "failed", code=item.skip_reason)
        if item.in_doubt_since is not None:
            try:
                sid = find_sent(self.clients.get(), item.phone, item.body, item.in_doubt_since)
            except Exception as exc:  # noqa: BLE001 - unknown: never send blind, try again later
                result, code = classify_error(exc)
                log.warning("notice %s to %s: look-up failed %s, retried later", item.id, mask(item.phone), code)
                return Outcome(item, "retry", code=code)
            if sid is not None:
                log.info("notice %s to %s: the provider already has it (%s), not sent again", item.id,
                         mask(item.phone), sid)
                return Outcome(item, "accepted", sid=sid)
        identity = self.limiter.acquire(item.segments)   # waits for this message's slot in the pool
        params = {"to": item.phone, "body": item.body, "status_callback": item.callback, **identity.params()}
        validity = validity_seconds(item.deadline_at, utcnow())
        if validity is not None:
            params["validity_period"] = validity
        try:
            message = self.clients.get().messages.create(**params)
        except Exception as exc:  # noqa: BLE001 - every provider error becomes a recorded outcome
            result, code = classify_error(exc)
            log.warning("notice %s to %s: %s %s", item.id, mask(item.phone), result, code)
            return Outcome(item, result, code=code)
        return Outcome(item, "accepted", sid=message.sid)


@functools.cache
def _load_statement(dialect: str):
    """The claimed notices with their texts, built once per database kind (building it per chunk
    cost the sender more than the database took to run it)."""
    own, default = aliased(NoticeText), aliased(NoticeText)
    # By id (the primary key): claim_token has no index, and a million queued notices made each
    # load a scan of them all (seconds a batch). The token still guards the claim. On PostgreSQL
    # the ids are one array parameter (``= ANY``), not a placeholder each, which psycopg
    # re-parsed on every load (too long a query for its cache).
    among = (Notice.id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer))) if dialect == "postgresql"
             else Notice.id.in_(bindparam("ids", expanding=True)))
    return (select(Notice.id, func.coalesce(Notice.phone, Subscriber.phone), func.coalesce(own.body, default.body),
                   func.coalesce(own.segments, default.segments), NoticeBatch.deadline_at, Notice.batch_id,
                   Notice.subscriber_id, Notice.attempts, Subscriber.opted_out_at, NoticeBatch.mandatory,
                   Notice.delivery_round, Notice.in_doubt_since)
            # Outer: a complainant's message may go to a number that is no subscriber's.
            .outerjoin(Subscriber, Subscriber.id == Notice.subscriber_id)
            .join(NoticeBatch, NoticeBatch.id == Notice.batch_id)
            .outerjoin(own, and_(own.batch_id == Notice.batch_id, own.language == Subscriber.language))
            .join(default, and_(default.batch_id == Notice.batch_id,
                                default.language == bindparam("default_language")))
            .where(among, Notice.claim_token == bindparam("token")))


# A status callback may have arrived first (and moved the row on): keep its status.
_ACCEPTED_SET = """status = CASE WHEN n.status = 'sending' THEN 'accepted' ELSE n.status END,
    provider_sid = v.sid, accepted_at = COALESCE(n.accepted_at, :now), claim_token = NULL, segments = v.segments,
    in_doubt_since = NULL, error_code = NULL, updated_at = :now"""
# PostgreSQL: the chunk's outcomes in ONE statement, three arrays unnested (an UPDATE per
# notice cost the server a statement each and the sender a parameter set each).
_ACCEPTED_CHUNK = text(f"""
    UPDATE notices AS n SET {_ACCEPTED_SET}
    FROM unnest(CAST(:ids AS integer[]), CAST(:sids AS text[]), CAST(:segments AS integer[])) AS v(id, sid, segments)
    WHERE n.id = v.id AND n.claim_token = :token""").bindparams(bindparam("now", type_=_UTC))
# SQLite (in-process, one writer): one UPDATE per notice through executemany is as cheap.
_ACCEPTED_ONE = text(f"""
    UPDATE notices AS n SET {_ACCEPTED_SET}
    FROM (SELECT :id AS id, :sid AS sid, :segments AS segments) AS v
    WHERE n.id = v.id AND n.claim_token = :token""").bindparams(bindparam("now", type_=_UTC))


def record_accepted(accepted: list[dict], token: str, now: datetime) -> None:
    """Record the provider's SIDs (``accepted``: id, sid, segments) of a chunk claimed under ``token``;
    a row whose claim is no longer ``token``'s is left alone. Does not commit."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_ACCEPTED_CHUNK, {
            "ids": [a["id"] for a in accepted], "sids": [a["sid"] for a in accepted],
            "segments": [a["segments"] for a in accepted], "token": token, "now": now})
    else:
        db.session.execute(_ACCEPTED_ONE, [{**a, "now": now, "token": token} for a in accepted])


def release_expired_claims(now: datetime) -> int:
    """Notices claimed by a sender that never reported back go back to the queue, in doubt."""
    released = claims.release_expired(claims.NOTICES, now)
    db.session.commit()
    return released
