"""Failed console log-ins, counted in the database per user name and per client address.

After ``login_max_failures`` failures for a name (``login_address_max_failures`` for an
address) within ``login_failure_memory_minutes``, log-in is refused for
``login_lockout_seconds``, doubling with each further failure up to
``login_lockout_max_seconds``. A success clears the name's count, never the address's
(otherwise one valid account would reset the count for guessing others).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_

from app.auth.models import LoginThrottle
from app.extensions import db
from app.policy import current_policy
from app.sql import dialect_insert

USER, ADDRESS = "user", "address"


def subjects(name: str, address: str) -> list[tuple[str, str]]:
    return [(USER, name.strip().lower()[:128]), (ADDRESS, (address or "-")[:128])]


def locked_for(keys: list[tuple[str, str]], now: datetime) -> int | None:
    """Seconds until the longest lock among ``keys`` ends; None when none is locked."""
    until = db.session.scalars(select(LoginThrottle.locked_until).where(
        tuple_(LoginThrottle.scope, LoginThrottle.subject).in_(keys), LoginThrottle.locked_until > now)).all()
    if not until:
        return None
    return max(1, int((max(until) - now).total_seconds() + 0.999))


def record_failure(keys: list[tuple[str, str]], now: datetime) -> None:
    rules = current_policy().security
    limits = {USER: rules["login_max_failures"], ADDRESS: rules["login_address_max_failures"]}
    forget_before = now - timedelta(minutes=rules["login_failure_memory_minutes"])
    for scope, subject in keys:
        # Insert-or-ignore, then lock the row: several web processes count the same failures.
        db.session.execute(dialect_insert(LoginThrottle)
                           .values(scope=scope, subject=subject, failures=0, last_failed_at=now)
                           .on_conflict_do_nothing(index_elements=["scope", "subject"]))
        row = db.session.scalar(select(LoginThrottle).where(
            LoginThrottle.scope == scope, LoginThrottle.subject == subject).with_for_update())
        if row.last_failed_at < forget_before:
            row.failures = 0
        row.failures += 1
        row.last_failed_at = now
        beyond = row.failures - limits[scope]
        if beyond >= 0:
            seconds = min(rules["login_lockout_seconds"] * 2 ** min(beyond, 30), rules["login_lockout_max_seconds"])
            row.locked_until = now + timedelta(seconds=seconds)


def clear_user(name: str) -> None:
    (scope, subject), _ = subjects(name, "")
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.subject == subject))
