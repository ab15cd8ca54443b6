"""Alert the duty managers on call. Called inside the caller's transaction; never commits."""
from __future__ import annotations

import logging

from sqlalchemy import Integer, Select, String, cast, func, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.models import Role, User
from app.clock import utcnow
from app.db_types import UTCDateTime
from app.errors import NotFound, NotPermitted
from app.extensions import db
from app.incidents import timeline
from app.incidents.models import Incident
from app.phones import mask
from app.staff.models import StaffAlert

log = logging.getLogger(__name__)
INT_MAX = 2**31 - 1  # the id column is INTEGER: past it PostgreSQL fails the transaction


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
               source.c.message, literal(utcnow(), UTCDateTime()), literal("queued", String()), literal(0, Integer()))
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


# --- the inbox: what was sent to me, and acknowledging it ---------------------------------------

ALERT_KIND_LABELS_ZH = {
    "deadline_warning": "时限预警",
    "deadline_breach": "超时告警",
    "escalation_tier2": "超时升级",
}


def alerts_for(user: User, *, unacknowledged_only: bool = False) -> Select:
    """The staff alerts sent to ``user``, newest first, with the incident's number and title."""
    query = (select(StaffAlert, Incident.number, Incident.title)
             .outerjoin(Incident, Incident.id == StaffAlert.incident_id)
             .where(StaffAlert.user_id == user.id)
             .order_by(StaffAlert.created_at.desc(), StaffAlert.id.desc()))
    if unacknowledged_only:
        query = query.where(StaffAlert.acknowledged_at.is_(None))
    return query


def inbox_entry(user: User, alert_id: int):
    """One row of ``alerts_for(user)``: (alert, incident number, incident title)."""
    row = db.session.execute(alerts_for(user).where(StaffAlert.id == alert_id)).one_or_none()
    if row is None:
        raise NotFound(f"告警 {alert_id} 不存在 (staff alert not found)", alert_id=alert_id)
    return row


def unacknowledged_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(StaffAlert).where(
        StaffAlert.user_id == user.id, StaffAlert.acknowledged_at.is_(None))) or 0


def acknowledge(alert_id: int, actor: User) -> StaffAlert:
    """Record that the addressee has read the alert: who, when, and a line on the incident's timeline.

    Exactly once (a conditional UPDATE): a second click, or the console and an SMS reply at the
    same moment, changes nothing more. Whatever escalates an unanswered alert reads
    ``acknowledged_at`` and stops.
    """
    alert = db.session.get(StaffAlert, alert_id) if 0 < alert_id <= INT_MAX else None
    if alert is None:
        raise NotFound(f"告警 {alert_id} 不存在 (staff alert not found)", alert_id=alert_id)
    if alert.user_id != actor.id:
        raise NotPermitted("只能确认发给本人的告警 (only the addressee may acknowledge an alert)", alert_id=alert_id)
    now = utcnow()
    claimed = db.session.execute(
        update(StaffAlert).where(StaffAlert.id == alert_id, StaffAlert.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=actor.id)
    ).rowcount
    if claimed and alert.incident_id is not None:
        label = ALERT_KIND_LABELS_ZH.get(alert.kind, alert.kind)
        timeline.record(db.session.get(Incident, alert.incident_id), "staff_alert_acknowledged", actor=actor,
                        message=f"{actor.name} 已确认{label}：{alert.message}",
                        after={"alert_id": alert.id, "kind": alert.kind, "acknowledged_at": now.isoformat()})
    db.session.commit()
    db.session.refresh(alert)
    return alert
