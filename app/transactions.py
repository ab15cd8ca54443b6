"""Retry a unit of work that lost a deadlock or a serialization conflict (PostgreSQL).

Lock order prevents the deadlocks we know of (an incident's row, then its deadlines — see
``app.incidents.locks.lock_incidents``); this is the net behind it. PostgreSQL aborts one
transaction of a deadlock (SQLSTATE 40P01) or a serialization conflict (40001) and says
"retry": a service function is one unit of work that owns its transaction, so running it
again from the start, after a rollback, is always correct. Only those two SQLSTATEs, a few
times: anything else, or a conflict that persists, still propagates.
"""
from __future__ import annotations

import functools
import logging
import random
import time
from contextvars import ContextVar
from typing import Callable, TypeVar

from sqlalchemy.exc import DBAPIError

from app.extensions import db

log = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
MAX_ATTEMPTS = 5
_inside = ContextVar("noc_unit_of_work", default=False)
F = TypeVar("F", bound=Callable)


def is_retryable(error: BaseException) -> bool:
    original = getattr(error, "orig", None)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return isinstance(error, DBAPIError) and code in RETRYABLE_SQLSTATES


def retry_on_conflict(unit_of_work: F) -> F:
    """Run ``unit_of_work`` again (after a rollback) when PostgreSQL aborted it as a deadlock
    victim or a serialization failure; at most ``MAX_ATTEMPTS`` runs. A unit of work called
    inside another belongs to the outer transaction: only the outermost one retries."""

    @functools.wraps(unit_of_work)
    def wrapper(*args, **kwargs):
        if _inside.get():
            return unit_of_work(*args, **kwargs)
        token = _inside.set(True)
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return unit_of_work(*args, **kwargs)
                except DBAPIError as error:
                    if attempt == MAX_ATTEMPTS or not is_retryable(error):
                        raise
                    db.session.rollback()
                    log.warning("%s: %s, retrying (attempt %d of %d)", unit_of_work.__qualname__,
                                type(error.orig).__name__, attempt + 1, MAX_ATTEMPTS)
                    # A short random pause so that the two sides do not collide again in step.
                    time.sleep(random.uniform(0, 0.02 * attempt))
        finally:
            _inside.reset(token)

    return wrapper  # type: ignore[return-value]
