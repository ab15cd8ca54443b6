"""Alert the duty managers on call. Called inside the caller's transaction; never commits."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.models import Role, User
from app.clock import utcnow
from app.extensions import db
from app.incidents.models import Incident
from app.phones import mask
from app.staff.models import StaffAlert

log = logging.getLogger(__name__)


def on_call_duty_managers() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == Role.duty_manager.value, User.on_call.is_(True), User.active.is_(True))
        .order_by(User.id)
    ))


def alert_on_call_duty_managers(incident: Incident | None, kind: str, message: str, dedupe_key: str) -> int:
    """Queue ``message`` to each on-call duty manager, at most once per (dedupe_key, user).

    Returns how many alerts were newly queued (0 when this alert was already raised).
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    queued = 0
    now = utcnow()
    for user in on_call_duty_managers():
        statement = insert(StaffAlert.__table__).values(
            dedupe_key=f"{dedupe_key}:u{user.id}", user_id=user.id, incident_id=incident.id if incident else None,
            kind=kind, message=message, created_at=now, status="queued", attempts=0,
        ).on_conflict_do_nothing(index_elements=["dedupe_key"])
        result = db.session.execute(statement)
        if result.rowcount:
            queued += 1
            log.info("staff alert %s queued for %s (%s): %s", kind, user.name, mask(user.phone), message)
    return queued


def alert_on_call_duty_managers_many(alerts: list[tuple[int | None, str, str, str]]) -> int:
    """The set-based form of :func:`alert_on_call_duty_managers` for a batch of alerts.

    ``alerts`` holds (incident_id, kind, message, dedupe_key); every alert goes to every
    on-call duty manager, at most once per (dedupe_key, user), in one multi-row INSERT —
    so judging 70,000 overdue deadlines at start-up does not issue 70,000 queries.
    Returns how many rows were offered (duplicates are silently skipped by the database).
    """
    if not alerts:
        return 0
    managers = on_call_duty_managers()
    if not managers:
        log.warning("no on-call duty manager: %d staff alert(s) not queued, e.g. %s", len(alerts), alerts[0][2])
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    rows = [
        {"dedupe_key": f"{dedupe_key}:u{user.id}", "user_id": user.id, "incident_id": incident_id, "kind": kind,
         "message": message, "created_at": now, "status": "queued", "attempts": 0}
        for incident_id, kind, message, dedupe_key in alerts for user in managers
    ]
    db.session.execute(insert(StaffAlert.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)
    for incident_id, kind, message, _ in alerts[:20]:
        log.info("staff alert %s queued for %d duty manager(s): %s", kind, len(managers), message)
    if len(alerts) > 20:
        log.info("… and %d more staff alerts queued", len(alerts) - 20)
    return len(rows)
