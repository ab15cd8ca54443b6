"""Staff alerts (messages to NOC staff): the only writer of ``staff_alerts``.

Other domains raise alerts here (the deadline judge), and the SMS sender claims, records
and re-queues their delivery through the functions below: those run inside the caller's
transaction and never commit. ``acknowledge`` (the console's and the API's button) is a unit
of work of its own and commits.
"""
from __future__ import annotations

import logging

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Select, String, and_, cast, func, literal, select, true, update

from app import claims
from app.auth.models import Role, User
from app.clock import utcnow
from app.db_types import UTCDateTime
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.incidents import timeline
from app.incidents.models import Incident
from app.incidents.timeline_kinds import EventKind
from app.notify import drills
from app.notify.statuses import OutboxStatus
from app.oncall import service as oncall
from app.oncall.models import Tier
from app.phones import mask
from app.sql import dialect_insert, get_or_404
from app.staff.models import AckChannel, StaffAlert, StaffAlertKind

log = logging.getLogger(__name__)


def _fallback_recipients():
    """Who is alerted when the roster names nobody at a tier: the on-call duty managers (users.on_call)."""
    return and_(User.role == Role.duty_manager.value, User.on_call.is_(True), User.active.is_(True))


def recipients(tier: Tier, at: datetime):
    """The condition on ``User`` choosing who gets an alert of ``tier`` raised at ``at``: the roster's
    people on duty at that tier then, or — with nobody rostered — the on-call duty managers."""
    rostered = [user.id for user in oncall.people_on_duty(tier, at)]
    return User.id.in_(rostered) if rostered else _fallback_recipients()


def on_call_duty_managers(tier: Tier = Tier.duty_manager, at: datetime | None = None) -> list[User]:
    """The people an alert of ``tier`` raised at ``at`` (default now) goes to."""
    return list(db.session.scalars(select(User).where(recipients(tier, at or utcnow())).order_by(User.id)))


def alert_on_call_duty_managers(incident: Incident | None, kind: str, message: str, dedupe_key: str,
                                tier: Tier = Tier.duty_manager) -> int:
    """Queue ``message`` to each person on duty at ``tier``, at most once per (dedupe_key, user).

    Returns how many alerts were newly queued (0 when this alert was already raised).
    """
    queued = 0
    now = utcnow()
    message = drills.mark(message, incident is not None and incident.drill)
    for user in on_call_duty_managers(tier, now):
        statement = dialect_insert(StaffAlert.__table__).values(
            dedupe_key=f"{dedupe_key}:u{user.id}", user_id=user.id, incident_id=incident.id if incident else None,
            kind=kind, message=message, created_at=now, status=OutboxStatus.queued, attempts=0,
        ).on_conflict_do_nothing(index_elements=["dedupe_key"])
        # preserve_rowcount: without it PostgreSQL's driver reports 1 for a conflict that inserted nothing.
        result = db.session.execute(statement, execution_options={"preserve_rowcount": True})
        if result.rowcount:
            queued += 1
            log.info("staff alert %s queued for %s (%s): %s", kind, user.name, mask(user.phone), message)
    return queued


def duty_alerts_from_select(alerts: Select, tier: Tier = Tier.duty_manager):
    """The set-based form of :func:`alert_on_call_duty_managers`: one INSERT … SELECT, unexecuted (the
    judge runs it alone on SQLite and as one part of its data-modifying CTE on PostgreSQL), so judging
    70,000 overdue deadlines at start-up is a few statements, not 70,000.

    ``alerts`` yields the columns ``incident_id``, ``kind``, ``message`` and ``dedupe_key``; each row is
    queued to every person on duty at ``tier`` now (the roster, else the on-call duty managers), at
    most once per (dedupe_key, user). RETURNING each new alert's id: the caller counts them for
    :func:`log_duty_alerts`.
    """
    now = utcnow()
    source = alerts.subquery()
    rows = (
        select(source.c.dedupe_key + ":u" + cast(User.id, String), User.id, source.c.incident_id, source.c.kind,
               drills.mark_sql(source.c.message, Incident.drill), literal(now, UTCDateTime()),
               literal(OutboxStatus.queued.value, String()), literal(0, Integer()))
        .select_from(source).join(User, true())
        .outerjoin(Incident, Incident.id == source.c.incident_id)   # a drill's alerts say 【演练】
        .where(recipients(tier, now))
    )
    return dialect_insert(StaffAlert.__table__).from_select(
        ["dedupe_key", "user_id", "incident_id", "kind", "message", "created_at", "status", "attempts"], rows,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(StaffAlert.id)


def log_duty_alerts(queued: int, tier: Tier) -> None:
    """Say how many alerts :func:`duty_alerts_from_select` queued, and warn when nobody is there to get them."""
    if queued:
        log.info("%d staff alert(s) queued to tier %d on duty", queued, tier)
    elif db.session.scalar(select(User.id).where(recipients(tier, utcnow())).limit(1)) is None:
        log.warning("nobody on duty at tier %d and no on-call duty manager: staff alerts not queued", tier)


def alert_people(alerts: list[dict]) -> int:
    """Queue alerts to named people (not the roster): one multi-row INSERT in the caller's transaction.

    Each of ``alerts`` has ``user_id``, ``kind``, ``message``, ``dedupe_key`` and optionally
    ``incident_id``; each is queued at most once per dedupe key (the emergency plans' review
    reminders: once per plan and review date). Returns how many were new.
    """
    if not alerts:
        return 0
    now = utcnow()
    rows = [{"incident_id": None, **alert, "created_at": now, "status": OutboxStatus.queued.value, "attempts": 0}
            for alert in alerts]
    statement = dialect_insert(StaffAlert.__table__).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    queued = db.session.execute(statement, execution_options={"preserve_rowcount": True}).rowcount or 0
    if queued:
        log.info("%d staff alert(s) queued to named people", queued)
    return queued


def recent_alerts(user_id: int, limit: int = 50) -> list[StaffAlert]:
    """The newest alerts sent to ``user_id``, newest first (an SMS reply acknowledges the newest one
    still waiting)."""
    return list(db.session.scalars(select(StaffAlert).where(StaffAlert.user_id == user_id)
                                   .order_by(StaffAlert.created_at.desc(), StaffAlert.id.desc()).limit(limit)))


# -- delivery, for the SMS sender --------------------------------------------------------

# Staff alerts skip ``accepted``: an alert the provider took is ``sent``.
RANK = {OutboxStatus.queued: 0, OutboxStatus.sending: 1, OutboxStatus.sent: 2, OutboxStatus.delivered: 3,
        OutboxStatus.failed: 3}


@dataclass(frozen=True)
class ClaimedAlert:
    id: int
    phone: str | None
    message: str
    attempts: int
    in_doubt_since: datetime | None   # an earlier claim expired: the provider may hold it already


def claim_queued(token: str, limit: int, now: datetime, lease_seconds: float) -> list[ClaimedAlert]:
    """Claim up to ``limit`` due alerts under ``token`` for ``lease_seconds`` (the notices' discipline,
    app/claims.py) and return them with their recipient's phone. The caller commits the claim."""
    if not claims.claim(claims.STAFF_ALERTS, token, now, lease_seconds, limit):
        return []
    rows = db.session.execute(
        select(StaffAlert.id, User.phone, StaffAlert.message, StaffAlert.attempts, StaffAlert.in_doubt_since)
        .join(User, User.id == StaffAlert.user_id).where(StaffAlert.claim_token == token)
    ).all()
    return [ClaimedAlert(*row) for row in rows]


def record_attempt(alert_id: int, token: str, *, accepted: bool, retry_at: datetime | None, sid: str | None,
                   error_code: str | None, now: datetime) -> None:
    """The provider's answer to one claimed alert (``retry_at``: try again then); ignored when the
    claim is no longer ``token``'s."""
    claims.record_outcome(StaffAlert, alert_id, token, sent=accepted, sent_column="sent_at", retry_at=retry_at,
                          sid=sid, error_code=error_code, now=now)


def any_pending() -> bool:
    """Is any alert queued or being sent? (app/claims.py ``any_pending``: a read before the writes.)"""
    return claims.any_pending(claims.STAFF_ALERTS)


def release_expired_claims(now: datetime) -> int:
    """Alerts whose sender died mid-send go back to the queue, in doubt (looked up before a re-send)."""
    return claims.release_expired(claims.STAFF_ALERTS, now)


def apply_delivery_status(alert_id: int, status: str, sid: str, error_code: str | None) -> bool:
    """A delivery callback for one alert (``sent``, ``delivered`` or ``failed``); statuses only move
    forward. Returns whether anything changed."""
    alert = db.session.scalar(select(StaffAlert).where(StaffAlert.id == alert_id).with_for_update())
    if alert is None or RANK[status] <= RANK.get(alert.status, 0):
        return False
    alert.status = status
    alert.provider_sid = sid
    alert.sent_at = alert.sent_at or utcnow()
    if error_code:
        alert.error_code = error_code
    return True


# --- the inbox: what was sent to me, and acknowledging it ---------------------------------------

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
    same moment, changes nothing more. The alert's escalation chain (if any) stops climbing.
    """
    alert = get_or_404(StaffAlert, alert_id, label=("告警", "staff alert"), field="alert_id")
    if alert.user_id != actor.id:
        raise Forbidden("只能确认发给本人的告警 (only the addressee may acknowledge an alert)", alert_id=alert_id)
    now = utcnow()
    claimed = db.session.execute(
        update(StaffAlert).where(StaffAlert.id == alert_id, StaffAlert.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=actor.id)
    ).rowcount
    if claimed:
        from app.oncall import escalation   # imported here: escalation queues its alerts through this module

        chain = escalation.chain_of(alert.dedupe_key)
        # The chain's acknowledgement writes the timeline line (naming the tier it stopped at); an alert
        # of no chain, or of one already acknowledged by someone else, writes its own.
        if chain is None or not escalation.acknowledge_chain(*chain, actor, AckChannel.console, alert=alert):
            record_acknowledgement(alert, actor, AckChannel.console, now)
    db.session.commit()
    db.session.refresh(alert)
    return alert


def record_acknowledgement(alert: StaffAlert, actor: User, channel: AckChannel, at: datetime, *,
                           stopped_at: Tier | None = None) -> None:
    """The one timeline line of an acknowledgement, whatever its channel (console, SMS reply)."""
    if alert.incident_id is None:
        return
    label = StaffAlertKind.label_of(alert.kind)
    stopped = f"，升级停止于{stopped_at.label}" if stopped_at is not None else ""
    timeline.record(db.session.get(Incident, alert.incident_id), EventKind.staff_alert_acknowledged, actor=actor,
                    message=f"{actor.name} 已通过{channel.label}确认{label}{stopped}：{alert.message}",
                    after={"alert_id": alert.id, "kind": alert.kind, "channel": channel.value,
                           "acknowledged_at": at.isoformat(),
                           "escalation_stopped_at_tier": int(stopped_at) if stopped_at is not None else None})


def stamp_acknowledged(user_id: int, keys, actor: User) -> int:
    """Mark ``user_id``'s unacknowledged alerts whose dedupe key matches ``keys`` (a condition on
    ``StaffAlert``) as acknowledged by ``actor`` (an SMS reply acknowledges a whole chain). Caller commits."""
    return db.session.execute(
        update(StaffAlert).where(StaffAlert.user_id == user_id, keys, StaffAlert.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow(), acknowledged_by=actor.id).execution_options(synchronize_session=False)
    ).rowcount
