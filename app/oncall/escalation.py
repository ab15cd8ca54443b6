"""Tiered escalation of a breach (RULES §9): tier 1 on duty is alerted with the breach; when nobody
acknowledged the chain within the policy's minutes, tier 2 on duty, then tier 3.

Each step is a row of ``oncall_escalations`` under the unique key (deadline, tier), inserted with
ON CONFLICT DO NOTHING in the same transaction as its staff alerts (whose dedupe key is per
(deadline, tier) too): a second judge, a retried pass or a restart mid-chain finds the step taken
and alerts nobody twice. The functions here run inside the caller's transaction (the judge's, the
inbound SMS handler's) and never commit.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import Integer, Select, exists, func, literal, select, true, update
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.clock import utcnow
from app.extensions import db
from app.incidents import timeline
from app.incidents.models import Incident
from app.incidents.timeline_kinds import EventKind
from app.oncall.models import OncallEscalation, Tier
from app.db_types import UTCDateTime
from app.policy import current_policy
from app.sql import dialect_insert
from app.staff import service as staff
from app.staff.models import StaffAlertKind

log = logging.getLogger(__name__)

ALERT_KIND = StaffAlertKind.oncall_escalation
DEDUPE = "deadline:{deadline_id}:oncall{tier}"
DEADLINE_OF_ALERT = re.compile(r"^deadline:(\d+):")


def open_chains_from_select(breaches: Select, now: datetime) -> None:
    """Tier 1's step for each breach (columns ``deadline_id``, ``incident_id``): one INSERT … SELECT.
    Its alert is the breach alert the judge queues to tier 1 on duty in the same transaction."""
    source = breaches.subquery()
    rows = select(source.c.deadline_id, source.c.incident_id, literal(int(Tier.duty_manager), Integer()),
                  literal(now, UTCDateTime())).where(true())   # WHERE: SQLite parses ON CONFLICT after it
    db.session.execute(dialect_insert(OncallEscalation.__table__).from_select(
        ["deadline_id", "incident_id", "tier", "raised_at"], rows,
    ).on_conflict_do_nothing(index_elements=["deadline_id", "tier"]))


def _due_steps(now: datetime, still_breached: Select):
    """The last step of each unacknowledged chain below tier 3, older than the policy's minutes."""
    return _open_steps(still_breached).where(
        OncallEscalation.raised_at <= now - current_policy().unacknowledged_next_tier)


def _open_steps(still_breached: Select):
    """The last step of each unacknowledged chain below tier 3 whose deadline is still breached."""
    later, acknowledged = aliased(OncallEscalation), aliased(OncallEscalation)
    step = OncallEscalation
    return (select(step.deadline_id, step.incident_id, step.tier)
            .where(step.tier < int(Tier.command_center),
                   step.deadline_id.in_(still_breached),
                   ~exists().where(later.deadline_id == step.deadline_id, later.tier > step.tier),
                   ~exists().where(acknowledged.deadline_id == step.deadline_id,
                                   acknowledged.acknowledged_at.is_not(None)))
            .order_by(step.deadline_id))


def escalate_unacknowledged(now: datetime, still_breached: Select, *, limit: int) -> list[int]:
    """Raise the next tier of every chain due for it (``still_breached``: ids of breached deadlines
    still unmet and not cancelled); returns the deadline ids escalated. Exactly once per (deadline, tier)."""
    escalated = []
    for deadline_id, incident_id, tier in db.session.execute(_due_steps(now, still_breached).limit(limit)).all():
        next_tier = Tier(tier + 1)
        inserted = db.session.execute(dialect_insert(OncallEscalation.__table__).values(
            deadline_id=deadline_id, incident_id=incident_id, tier=int(next_tier), raised_at=now,
        ).on_conflict_do_nothing(index_elements=["deadline_id", "tier"]),
            execution_options={"preserve_rowcount": True}).rowcount
        if not inserted:
            continue   # another judge took this step first
        incident = db.session.get(Incident, incident_id) if incident_id else None
        staff.alert_on_call_duty_managers(incident, ALERT_KIND, _message(incident, next_tier),
                                          DEDUPE.format(deadline_id=deadline_id, tier=int(next_tier)), next_tier)
        if incident is not None:
            timeline.record(incident, EventKind.oncall_escalated, actor=None,
                            message=f"超时告警无人确认，已升级至{next_tier.label} (escalated to tier {int(next_tier)})",
                            after={"deadline_id": deadline_id, "tier": int(next_tier), "at": now.isoformat()})
        escalated.append(deadline_id)
    return escalated


def _message(incident: Incident | None, tier: Tier) -> str:
    minutes = int(current_policy().unacknowledged_next_tier.total_seconds() // 60)
    subject = f"{incident.number}「{incident.title}」" if incident is not None else "投诉处理"
    return f"【升级·{tier.label}】{subject}时限超时告警 {minutes} 分钟内无人确认，请立即处理。回复1确认"


def next_escalation_at(still_breached: Select) -> datetime | None:
    """When the oldest unacknowledged chain becomes due for its next tier (for the scheduler's wake-up)."""
    oldest = db.session.scalar(_open_steps(still_breached).with_only_columns(func.min(OncallEscalation.raised_at))
                               .order_by(None))
    return oldest + current_policy().unacknowledged_next_tier if oldest is not None else None


def deadline_of(dedupe_key: str) -> int | None:
    """The deadline a staff alert was raised for (keys ``deadline:<id>:…``), if any."""
    match = DEADLINE_OF_ALERT.match(dedupe_key)
    return int(match.group(1)) if match else None


def acknowledge_latest(user: User, via: str) -> int | None:
    """Acknowledge the chain of the newest alert sent to ``user`` that is still unacknowledged
    (the SMS reply path), and that person's alerts of it in the inbox; returns its deadline id,
    None when nothing was waiting. Caller commits."""
    for key in staff.recent_alert_keys(user.id):
        deadline_id = deadline_of(key)
        if deadline_id is not None and acknowledge_chain(deadline_id, user, via):
            staff.stamp_acknowledged(user.id, f"deadline:{deadline_id}:", user)
            return deadline_id
    return None


def acknowledge_chain(deadline_id: int, user: User, via: str, *, on_timeline: bool = True) -> bool:
    """Stamp every step of the deadline's chain (a conditional UPDATE: exactly once, whoever is first)
    and put it on the incident's timeline (unless the caller records its own line); the chain stops
    climbing. Caller commits."""
    now = utcnow()
    stamped = db.session.execute(
        update(OncallEscalation).where(OncallEscalation.deadline_id == deadline_id,
                                       OncallEscalation.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=user.id).returning(OncallEscalation.tier,
                                                                        OncallEscalation.incident_id)
    ).all()
    if not stamped:
        return False
    tier, incident_id = max(stamped)
    if incident_id is not None and on_timeline:
        timeline.record(db.session.get(Incident, incident_id), EventKind.oncall_acknowledged, actor=user,
                        message=f"{user.name} 已确认超时告警（{via}），升级停止于{Tier(tier).label}"
                                f" (acknowledged, escalation stopped at tier {tier})",
                        after={"deadline_id": deadline_id, "tier": tier, "via": via, "at": now.isoformat()})
    return True
