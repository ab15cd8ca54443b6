"""Sender pools (发送号码池): the sending identities every sender process shares, and their
global rate limit.

An identity is a number (or a Twilio Messaging Service) with its own rate in segments per
second, configured by ``NOC_SMS_IDENTITIES`` (settings.py) and kept in ``sms_sender_identities``
so that every sender process, on every machine, draws from the same budget. The limit is
global, not per process: each send reserves its segments on one identity's row with ONE
atomic ``UPDATE … RETURNING`` (the row lock serialises the reservations of all processes on
PostgreSQL; SQLite has one writer), then waits for the start of its slot. That is GCRA, the
token bucket written as "the next free moment": ``free_at`` moves forward by segments/rate on
each reservation, so over any window the identity carries at most rate × window (+ the burst).
The reservation picks the identity whose slot comes first, which spreads a batch over the pool.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import Engine

from app.clock import utcnow
from app.extensions import db
from app.notify.models import SenderIdentity
from app.sql import dialect_insert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdentityConfig:
    name: str
    segments_per_second: float          # 0: no limit
    from_number: str | None = None
    messaging_service_sid: str | None = None

    def params(self) -> dict:
        """The identity as ``messages.create`` takes it."""
        if self.messaging_service_sid:
            return {"messaging_service_sid": self.messaging_service_sid}
        return {"from_": self.from_number}


def parse_identities(spec: str) -> tuple[IdentityConfig, ...]:
    """``"+8610690001=100, +8610690002=100, MG…=300"``: numbers (E.164) or Messaging Service SIDs
    (``MG…``), each ``=`` its segments per second. Raises ValueError naming the bad entry."""
    identities = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, rate = entry.partition("=")
        name = name.strip()
        try:
            segments_per_second = float(rate) if sep else -1.0
        except ValueError:
            segments_per_second = -1.0
        if segments_per_second < 0 or not (name.startswith("MG") or name.startswith("+")):
            raise ValueError(f"NOC_SMS_IDENTITIES: {entry!r} is not NUMBER=SEGMENTS_PER_SECOND "
                             f"(E.164 number or MG… Messaging Service SID)")
        identities.append(IdentityConfig(name, segments_per_second,
                                         from_number=None if name.startswith("MG") else name,
                                         messaging_service_sid=name if name.startswith("MG") else None))
    if len({i.name for i in identities}) != len(identities):
        raise ValueError("NOC_SMS_IDENTITIES: an identity is listed twice")
    return tuple(identities)


def configured_identities(settings) -> tuple[IdentityConfig, ...]:
    """The pool as configured; without NOC_SMS_IDENTITIES, the one from number (or Messaging
    Service) at NOC_SMS_SEGMENTS_PER_SECOND, as before pools existed."""
    if settings.identities:
        return settings.identities
    name = settings.messaging_service_sid or settings.from_number
    return (IdentityConfig(name, settings.segments_per_second, from_number=settings.from_number,
                           messaging_service_sid=settings.messaging_service_sid),)


def sync_identities(connection, configs: tuple[IdentityConfig, ...]) -> None:
    """Make the table say what this installation's configuration says (a sender does it at start,
    in its own transaction ``connection``): configured identities are upserted and enabled, their
    limiter state kept; others are disabled."""
    now = utcnow()
    for config in configs:
        values = {"segments_per_second": config.segments_per_second, "from_number": config.from_number,
                  "messaging_service_sid": config.messaging_service_sid, "enabled": True, "updated_at": now}
        connection.execute(dialect_insert(SenderIdentity).values(name=config.name, free_at=0.0, **values)
                           .on_conflict_do_update(index_elements=["name"], set_=values))
    connection.execute(update(SenderIdentity).where(
        SenderIdentity.name.not_in([c.name for c in configs]), SenderIdentity.enabled.is_(True))
        .values(enabled=False, updated_at=now))


def pool_identities(settings) -> list[IdentityConfig]:
    """The enabled identities as the senders share them; the configured ones if no sender has
    started yet (nothing synced)."""
    rows = db.session.scalars(select(SenderIdentity).where(SenderIdentity.enabled.is_(True))
                              .order_by(SenderIdentity.id)).all()
    if not rows:
        return list(configured_identities(settings))
    return [IdentityConfig(r.name, r.segments_per_second, r.from_number, r.messaging_service_sid) for r in rows]


# One statement: pick the identity whose next slot comes first and reserve on it. On PostgreSQL
# a concurrent reservation on the same row waits for the row lock and then recomputes SET from
# the row as committed, so no reservation is ever lost; ``floor`` (now - burst) lets an idle
# identity take a burst at once instead of accumulating unlimited credit. Ties (identities all
# idle) go to the one used least recently, so even a light load is spread over the pool.
_RESERVE = text("""
    UPDATE sms_sender_identities
    SET free_at = (CASE WHEN free_at > :floor THEN free_at ELSE :floor END) + :segments / segments_per_second
    WHERE id = (SELECT id FROM sms_sender_identities
                WHERE enabled = :true AND segments_per_second > 0
                ORDER BY (CASE WHEN free_at > :floor THEN free_at ELSE :floor END) + :segments / segments_per_second, free_at, id
                LIMIT 1)
    RETURNING id, free_at, segments_per_second""").bindparams(bindparam("true", True))


@dataclass(frozen=True)
class Slot:
    identity: IdentityConfig
    starts_at: float        # epoch seconds; the send may go at or after it
    wait_seconds: float


class GlobalLimiter:
    """The pool's limiter as one sender process uses it (thread-safe; its own short transactions).

    ``clock`` (epoch seconds) and ``sleep`` are injected for the tests. With an identity of rate
    0 configured the pool is unlimited: no reservation, that identity is used.
    """

    def __init__(self, engine: Engine, configs: tuple[IdentityConfig, ...], *, burst_seconds: float = 0.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.burst_seconds = burst_seconds
        self.clock = clock
        self.sleep = sleep
        self.unlimited = next((c for c in configs if c.segments_per_second <= 0), None)
        self._by_id: dict[int, IdentityConfig] = {}
        self._lock = threading.Lock()

    @property
    def total_rate(self) -> float | None:
        """Segments per second of the whole pool (None: unlimited)."""
        if self.unlimited:
            return None
        with self.engine.connect() as connection:
            return float(connection.execute(text(
                "SELECT COALESCE(SUM(segments_per_second), 0) FROM sms_sender_identities WHERE enabled = :true"
            ).bindparams(bindparam("true", True))).scalar_one())

    def reserve(self, segments: int) -> Slot:
        """Reserve ``segments`` on the identity free soonest; does not wait."""
        if self.unlimited:
            return Slot(self.unlimited, self.clock(), 0.0)
        now = self.clock()
        with self.engine.begin() as connection:
            row = connection.execute(_RESERVE, {"floor": now - self.burst_seconds,
                                                "segments": max(1, int(segments))}).first()
        if row is None:
            raise RuntimeError("no enabled SMS sender identity (NOC_SMS_IDENTITIES): nothing can be sent")
        identity_id, free_at, rate = row
        starts_at = free_at - max(1, int(segments)) / rate
        return Slot(self._identity(identity_id), starts_at, max(0.0, starts_at - now))

    def acquire(self, segments: int) -> IdentityConfig:
        """Reserve, wait for the slot, and return the identity to send from."""
        slot = self.reserve(segments)
        if slot.wait_seconds > 0:
            self.sleep(slot.wait_seconds)
        return slot.identity

    def _identity(self, identity_id: int) -> IdentityConfig:
        with self._lock:
            if identity_id not in self._by_id:
                with self.engine.connect() as connection:
                    for r in connection.execute(text(
                            "SELECT id, name, segments_per_second, from_number, messaging_service_sid "
                            "FROM sms_sender_identities")):
                        self._by_id[r[0]] = IdentityConfig(r[1], r[2], r[3], r[4])
            return self._by_id[identity_id]
