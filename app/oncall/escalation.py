"""Tiered escalation (RULES §9): a deadline's warning or breach alerts tier 1 on duty; when nobody
acknowledged the chain within the policy's minutes, tier 2 on duty, then tier 3; tier 3 still silent
after as long again is phoned (a voice call, app/oncall/calls.py).

A chain is the rows of ``oncall_escalations`` of one (deadline, cause), one row per tier under the
unique key (deadline, cause, tier), each inserted with ON CONFLICT DO NOTHING in the same transaction
as its staff alerts (whose dedupe key is per (deadline, cause, tier) too): a second judge, a retried
pass or a restart mid-chain finds the step taken and alerts nobody twice. A warning's chain climbs
while its deadline is still pending (the breach starts a chain of its own); a breach's while it is
still unmet. Tier 2 of a breach is one step whichever raises it first — this climb, or the judge's
"still unmet ``next_tier_after`` the due time" (``raise_tier2_from_select``) — so tier 2 is paged once.
The functions here run inside the caller's transaction (the judge's, the inbound SMS handler's, the
inbox's) and never commit.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Insert, Integer, Select, String, and_, exists, func, literal, or_, select, true, update
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.clock import utcnow
from app.extensions import db
from app.incidents import timeline
from app.incidents.models import Incident
from app.incidents.timeline_kinds import EventKind
from app.oncall import calls
from app.oncall.models import ChainCause, OncallEscalation, Tier
from app.db_types import UTCDateTime
from app.policy import current_policy
from app.sql import dialect_insert
from app.staff import service as staff
from app.staff.models import AckChannel, StaffAlert, StaffAlertKind

log = logging.getLogger(__name__)

ALERT_KIND = StaffAlertKind.oncall_escalation
# The chain's own alerts (tiers 2, 3). A warning's keys start "deadline:<id>:warning" like the warning
# alert itself, so a key tells its chain (``chain_of``).
DEDUPE = {ChainCause.breach: "deadline:{deadline_id}:oncall{tier}",
          ChainCause.warning: "deadline:{deadline_id}:warning:oncall{tier}"}
CHAIN_OF_ALERT = re.compile(r"^deadline:(\d+):(warning)?")


@dataclass(frozen=True)
class OpenDeadlines:
    """Ids of the deadlines whose chains may still climb, per cause: warned and still pending; breached
    and still unmet (neither cancelled)."""

    warned: Select
    breached: Select


def open_chains_from_select(deadlines: Select, now: datetime, cause: ChainCause) -> Insert:
    """Tier 1's step for each deadline (columns ``deadline_id``, ``incident_id``): one INSERT … SELECT,
    unexecuted (the judge runs it alone, or as one part of its CTE on PostgreSQL). Its alert is the
    warning or breach alert the judge queues to tier 1 on duty in the same transaction."""
    source = deadlines.subquery()
    rows = select(source.c.deadline_id, literal(cause.value, String()), source.c.incident_id,
                  literal(int(Tier.duty_manager), Integer()), literal(now, UTCDateTime())
                  ).where(true())   # WHERE: SQLite parses ON CONFLICT after it
    return dialect_insert(OncallEscalation.__table__).from_select(
        ["deadline_id", "cause", "incident_id", "tier", "raised_at"], rows,
    ).on_conflict_do_nothing(index_elements=["deadline_id", "cause", "tier"])


def raise_tier2_from_select(deadlines: Select, now: datetime) -> list[int]:
    """The breach chains' tier-2 step for each deadline still unmet after ``next_tier_after`` (columns
    ``deadline_id``, ``incident_id``), where the unacknowledged climb has not taken it already; returns
    the deadline ids whose step this was (the judge alerts tier 2 for those only).

    An acknowledgement does not hold this step back: RULES §2 escalates a breach "still unmet" after
    the interval, whoever has acknowledged it; §9's "an acknowledgement stops the escalation" stops the
    unacknowledged climb (``escalate_unacknowledged``), so after this step the chain climbs no further."""
    source = deadlines.subquery()
    rows = select(source.c.deadline_id, literal(ChainCause.breach.value, String()), source.c.incident_id,
                  literal(int(Tier.department_head), Integer()), literal(now, UTCDateTime())
                  ).where(true())   # SQLite parses INSERT … SELECT … ON CONFLICT only after a WHERE
    inserted = db.session.execute(dialect_insert(OncallEscalation.__table__).from_select(
        ["deadline_id", "cause", "incident_id", "tier", "raised_at"], rows,
    ).on_conflict_do_nothing(index_elements=["deadline_id", "cause", "tier"]).returning(OncallEscalation.deadline_id))
    return sorted(row[0] for row in inserted)


def _chain_is_open(step, open_deadlines: OpenDeadlines):
    """``step``'s chain is unacknowledged and its deadline still warrants climbing."""
    acknowledged = aliased(OncallEscalation)
    return and_(
        or_(and_(step.cause == ChainCause.breach.value, step.deadline_id.in_(open_deadlines.breached)),
            and_(step.cause == ChainCause.warning.value, step.deadline_id.in_(open_deadlines.warned))),
        ~exists().where(acknowledged.deadline_id == step.deadline_id, acknowledged.cause == step.cause,
                        acknowledged.acknowledged_at.is_not(None)))


def _open_steps(open_deadlines: OpenDeadlines):
    """The last step of each open chain below tier 3."""
    later, step = aliased(OncallEscalation), OncallEscalation
    return (select(step.deadline_id, step.cause, step.incident_id, step.tier)
            .where(step.tier < int(Tier.command_center), _chain_is_open(step, open_deadlines),
                   ~exists().where(later.deadline_id == step.deadline_id, later.cause == step.cause,
                                   later.tier > step.tier))
            .order_by(step.deadline_id, step.cause))


def _uncalled_top_steps(open_deadlines: OpenDeadlines):
    """Tier-3 steps of open chains not phoned yet."""
    step = OncallEscalation
    return (select(step).where(step.tier == int(Tier.command_center), step.voice_called_at.is_(None),
                               _chain_is_open(step, open_deadlines))
            .order_by(step.id))


def escalate_unacknowledged(now: datetime, open_deadlines: OpenDeadlines, *, limit: int) -> list[int]:
    """Raise the next tier of every chain due for it; returns the deadline ids escalated. Exactly once
    per (deadline, cause, tier)."""
    due = _open_steps(open_deadlines).where(OncallEscalation.raised_at <= now - current_policy().unacknowledged_next_tier)
    escalated = []
    for deadline_id, cause, incident_id, tier in db.session.execute(due.limit(limit)).all():
        cause, next_tier = ChainCause(cause), Tier(tier + 1)
        inserted = db.session.execute(dialect_insert(OncallEscalation.__table__).values(
            deadline_id=deadline_id, cause=cause.value, incident_id=incident_id, tier=int(next_tier), raised_at=now,
        ).on_conflict_do_nothing(index_elements=["deadline_id", "cause", "tier"]),
            execution_options={"preserve_rowcount": True}).rowcount
        if not inserted:
            continue   # another judge took this step first
        incident = db.session.get(Incident, incident_id) if incident_id else None
        staff.alert_on_call_duty_managers(incident, ALERT_KIND, _message(incident, next_tier, cause),
                                          DEDUPE[cause].format(deadline_id=deadline_id, tier=int(next_tier)), next_tier)
        if incident is not None:
            timeline.record(incident, EventKind.oncall_escalated, actor=None,
                            message=f"{cause.label}告警无人确认，已升级至{next_tier.label} "
                                    f"(unacknowledged {cause.value} alert escalated to tier {int(next_tier)})",
                            after={"deadline_id": deadline_id, "cause": cause.value, "tier": int(next_tier),
                                   "at": now.isoformat()})
        escalated.append(deadline_id)
    return escalated


def call_unacknowledged(now: datetime, open_deadlines: OpenDeadlines, *, limit: int) -> list[int]:
    """Phone tier 3 of every chain whose tier-3 SMS nobody acknowledged within the policy's minutes
    (a conditional UPDATE claims each step: exactly once); returns the deadline ids phoned."""
    due = _uncalled_top_steps(open_deadlines).where(
        OncallEscalation.raised_at <= now - current_policy().unacknowledged_next_tier)
    called = []
    for step in db.session.scalars(due.limit(limit)).all():
        claimed = db.session.execute(
            update(OncallEscalation).where(OncallEscalation.id == step.id, OncallEscalation.voice_called_at.is_(None))
            .values(voice_called_at=now), execution_options={"preserve_rowcount": True}).rowcount
        if not claimed:
            continue
        incident = db.session.get(Incident, step.incident_id) if step.incident_id else None
        cause = ChainCause(step.cause)
        people = calls.queue_calls(step.id, incident, _call_message(incident, cause), now)
        if incident is not None:
            timeline.record(incident, EventKind.oncall_voice_call, actor=None,
                            message=f"{Tier.command_center.label}短信告警无人确认，已语音呼叫 {people} 人 "
                                    f"(tier 3 unacknowledged: {people} voice call(s) placed)",
                            after={"deadline_id": step.deadline_id, "cause": cause.value, "people": people,
                                   "at": now.isoformat()})
        called.append(step.deadline_id)
    return called


def _message(incident: Incident | None, tier: Tier, cause: ChainCause) -> str:
    policy = current_policy()
    amount = policy.escalation["unacknowledged_next_tier_minutes"]
    unit = "秒" if policy.data.get("window_unit") == "seconds" else "分钟"   # seconds: drills and tests
    subject = f"{incident.number}「{incident.title}」" if incident is not None else "投诉处理"
    return f"【升级·{tier.label}】{subject}{cause.label}告警 {amount} {unit}内无人确认，请立即处理。回复1确认"


def _call_message(incident: Incident | None, cause: ChainCause) -> str:
    subject = f"故障 {incident.number}，{incident.title}" if incident is not None else "投诉处理"
    return f"这里是网络运行中心值班系统。{subject}，{cause.label}告警无人确认，请立即处理，并回复短信1确认。"


def next_escalation_at(open_deadlines: OpenDeadlines) -> datetime | None:
    """When the oldest open chain becomes due for its next tier or its voice call (the scheduler's wake-up)."""
    oldest = [db.session.scalar(_open_steps(open_deadlines).with_only_columns(func.min(OncallEscalation.raised_at))
                                .order_by(None)),
              db.session.scalar(_uncalled_top_steps(open_deadlines).with_only_columns(
                  func.min(OncallEscalation.raised_at)).order_by(None))]
    moments = [moment for moment in oldest if moment is not None]
    return min(moments) + current_policy().unacknowledged_next_tier if moments else None


def chain_of(dedupe_key: str) -> tuple[int, ChainCause] | None:
    """The chain (deadline id, cause) a staff alert belongs to (keys ``deadline:<id>:…``), if any."""
    match = CHAIN_OF_ALERT.match(dedupe_key)
    if not match:
        return None
    return int(match.group(1)), ChainCause.warning if match.group(2) else ChainCause.breach


def acknowledge_latest(user: User, channel: AckChannel) -> int | None:
    """Acknowledge the chain of the newest alert sent to ``user`` whose chain is still unacknowledged
    (the SMS reply path), and that person's alerts of it in the inbox; returns its deadline id, None
    when nothing was waiting. Caller commits."""
    for alert in staff.recent_alerts(user.id):
        chain = chain_of(alert.dedupe_key)
        if chain is not None and acknowledge_chain(*chain, user, channel, alert=alert):
            staff.stamp_acknowledged(user.id, chain_alert_keys(*chain), user)
            return chain[0]
    return None


def chain_alert_keys(deadline_id: int, cause: ChainCause):
    """The condition on ``StaffAlert`` choosing the alerts of one chain (its tier-1 warning or breach
    alert, the judge's tier-2 escalation, the chain's own steps)."""
    warning_prefix = f"deadline:{deadline_id}:warning"
    if cause is ChainCause.warning:
        return StaffAlert.dedupe_key.startswith(warning_prefix)
    return and_(StaffAlert.dedupe_key.startswith(f"deadline:{deadline_id}:"),
                ~StaffAlert.dedupe_key.startswith(warning_prefix))


def acknowledge_chain(deadline_id: int, cause: ChainCause, user: User, channel: AckChannel, *,
                      alert: StaffAlert) -> bool:
    """Stamp every step of the chain (a conditional UPDATE: exactly once, whoever is first) and put the
    acknowledgement of ``alert`` on the incident's timeline (one kind, whatever the channel); the chain
    stops climbing. False when there was nothing left to stamp. Caller commits."""
    now = utcnow()
    stamped = db.session.execute(
        update(OncallEscalation).where(OncallEscalation.deadline_id == deadline_id, OncallEscalation.cause == cause.value,
                                       OncallEscalation.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=user.id).returning(OncallEscalation.tier)
    ).all()
    if not stamped:
        return False
    tier = Tier(max(stamped)[0])
    staff.record_acknowledgement(alert, user, channel, now, stopped_at=tier)
    return True


@dataclass(frozen=True)
class ChainRow:
    """One escalation chain as the 值班表 page lists it."""

    incident_id: int | None
    incident_number: str | None
    deadline_kind: str
    cause: ChainCause
    tier: Tier                      # the highest tier reached
    started_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    voice_called_at: datetime | None


def recent_chains(limit: int = 20) -> list[ChainRow]:
    """The newest escalation chains (one row per deadline and cause), newest first."""
    from app.scheduling.models import Deadline   # the deadline's kind, for its label (read only)

    step, who = OncallEscalation, aliased(User)
    rows = db.session.execute(
        select(step.deadline_id, step.cause, func.max(step.incident_id), func.max(step.tier),
               func.min(step.raised_at).label("started"), func.max(step.acknowledged_at),
               func.max(step.acknowledged_by), func.max(step.voice_called_at))
        .group_by(step.deadline_id, step.cause).order_by(func.min(step.raised_at).desc(), step.deadline_id.desc())
        .limit(limit)).all()
    kinds = dict(db.session.execute(select(Deadline.id, Deadline.kind).where(
        Deadline.id.in_([r[0] for r in rows]))).all()) if rows else {}
    numbers = dict(db.session.execute(select(Incident.id, Incident.number).where(
        Incident.id.in_({r[2] for r in rows if r[2]}))).all()) if rows else {}
    names = dict(db.session.execute(select(who.id, who.name).where(
        who.id.in_({r[6] for r in rows if r[6]}))).all()) if rows else {}
    return [ChainRow(incident_id=r[2], incident_number=numbers.get(r[2]), deadline_kind=kinds.get(r[0], ""),
                     cause=ChainCause(r[1]), tier=Tier(r[3]), started_at=r[4], acknowledged_at=r[5],
                     acknowledged_by=names.get(r[6]), voice_called_at=r[7]) for r in rows]
