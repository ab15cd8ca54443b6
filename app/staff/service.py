"""Alert the duty managers on call. Called inside the caller's transaction; never commits."""
from __future__ import annotations

import logging

from sqlalchemy import Integer, Select, String, cast, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.models import Role, User
from app.clock import utcnow
from app.db_types import UTCDateTime
from app.extensions import db
from app.incidents.models import Incident
from app.notify.statuses import OutboxStatus
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
            kind=kind, message=message, created_at=now, status=OutboxStatus.queued, attempts=0,
        ).on_conflict_do_nothing(index_elements=["dedupe_key"])
        result = db.session.execute(statement)
        if result.rowcount:
            queued += 1
            log.info("staff alert %s queued for %s (%s): %s", kind, user.name, mask(user.phone), message)
    return queued


def alert_on_call_duty_managers_from_select(alerts: Select) -> int:
    """The set-based form of :func:`alert_on_call_duty_managers`, one INSERT … SELECT.

    ``alerts`` yields the columns ``incident_id``, ``kind``, ``message`` and ``dedupe_key``;
    each row is queued to every on-call duty manager, at most once per (dedupe_key, user),
    inside the caller's transaction — so judging 70,000 overdue deadlines at start-up is a
    few statements, not 70,000. Returns how many alerts were newly queued.
    """
    source = alerts.subquery()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = (
        select(source.c.dedupe_key + ":u" + cast(User.id, String), User.id, source.c.incident_id, source.c.kind,
               source.c.message, literal(utcnow(), UTCDateTime()), literal(OutboxStatus.queued.value, String()), literal(0, Integer()))
        .select_from(source).join(User, true())
        .where(User.role == Role.duty_manager.value, User.on_call.is_(True), User.active.is_(True))
    )
    statement = insert(StaffAlert.__table__).from_select(
        ["dedupe_key", "user_id", "incident_id", "kind", "message", "created_at", "status", "attempts"], rows,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    queued = db.session.execute(statement).rowcount or 0
    if queued:
        log.info("%d staff alert(s) queued to on-call duty managers", queued)
    elif not on_call_duty_managers():
        log.warning("no on-call duty manager: staff alerts not queued")
    return queued
