"""The incident lifecycle (RULES §3). Only this module changes an incident's state.

Each public function is one unit of work: it validates, changes the incident, appends
to the timeline, runs the transition's effects in the other domains (``flows``, in order)
and commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Text, case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.catalog import service as catalog
from app.clock import ensure_aware_utc, utcnow
from app.errors import InvalidInput, TransitionNotAllowed
from app.extensions import db
from app.incidents import flows, timeline
from app.incidents.causes import CAUSES
from app.incidents.grading import is_regulator_reportable, outage_minutes, propose_level
from app.incidents.models import Incident, Responsibility, Status
from app.incidents.numbering import next_incident_number
from app.incidents.timeline_kinds import EventKind
from app.models import record_policy_version
from app.pagination import paginate
from app.notify.drills import mark as drill_text
from app.plans import service as plans
from app.policy import Policy, current_policy
from app.scheduling import service as deadlines
from app.sql import commit_or_conflict, get_or_404
from app.subscribers.scope_profile import profile as scope_profile
from app.transactions import retry_on_conflict

OPEN_BEFORE_RECOVERY = (Status.declared, Status.reported, Status.responding)
CLOSED_STATES = (Status.closed.value, Status.cancelled.value)


@dataclass(frozen=True)
class ResponsibilityEntry:
    category: str
    sub_cause: str
    party: str
    share: int


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _snapshot(incident: Incident, *names: str) -> dict[str, Any]:
    return {name: _iso(getattr(incident, name)) for name in names}


def _require_state(incident: Incident, action: str, allowed: Iterable[Status]) -> None:
    if incident.status not in {s.value for s in allowed}:
        raise TransitionNotAllowed(action, incident.status)


def _not_in_future(field: str, moment: datetime, now: datetime) -> datetime:
    moment = ensure_aware_utc(moment)
    if moment > now:
        raise InvalidInput(field, "不能晚于当前时间 (must not be in the future)")
    return moment


def _commit() -> None:
    commit_or_conflict(("故障单", "incident"))


def get_incident(incident_id: int, *, for_update: bool = False) -> Incident:
    return get_or_404(Incident, incident_id, label=("故障单", "incident"), field="incident_id", for_update=for_update)


def affected_count(incident: Incident, policy: Policy | None = None) -> int:
    if incident.affected_subscribers_at_recovery is not None:
        return incident.affected_subscribers_at_recovery
    # Cached per subscriber data version: a page of a live million-subscriber incident does not recount.
    return scope_profile(incident.services, incident.regions, policy or current_policy()).affected


def outage_end(incident: Incident) -> datetime:
    """When the interruption ended: recovery, cancellation, or (still open) now."""
    return incident.recovered_at or incident.cancelled_at or utcnow()


def outage_minutes_so_far(incident: Incident) -> int:
    return outage_minutes(incident.detected_at, outage_end(incident))


def user_minutes(incident: Incident, policy: Policy | None = None, *, affected: int | None = None) -> int:
    """受影响用户数 × 中断分钟: live while open, fixed at recovery; pass ``affected`` when already counted."""
    if incident.user_minutes_at_recovery is not None:
        return incident.user_minutes_at_recovery
    if affected is None:
        affected = affected_count(incident, policy)
    return affected * outage_minutes_so_far(incident)


def regulator_reportable(incident: Incident, policy: Policy | None = None, *, affected: int | None = None) -> bool:
    """Past the policy's regulator line (RULES §2); pass ``affected`` when already counted.
    Never a drill (演练): it interrupts nothing, so there is nothing to report to the regulator."""
    if incident.drill:
        return False
    policy = policy or current_policy()
    if affected is None:
        affected = affected_count(incident, policy)
    return is_regulator_reportable(affected, outage_minutes_so_far(incident), policy)


@retry_on_conflict
def declare(actor: User, **fields) -> Incident:
    """Declare an incident (a unit of work: commits). Fields as :func:`add_declared`."""
    incident = add_declared(actor, **fields)
    _commit()
    return incident


def add_declared(actor: User, *, title: str, services: list[str], regions: list[str], description: str = "",
                 detected_at: datetime | None = None, level: int | None = None, level_reason: str | None = None,
                 major: bool | None = None, major_reason: str | None = None,
                 estimated_recovery_at: datetime | None = None, drill: bool = False,
                 plan_ids: list[int] | None = None) -> Incident:
    """The declaration inside the caller's transaction (never commits): for a caller whose own change
    must land in the same commit (declaring from an alert proposal links it in that one commit)."""
    policy = current_policy()
    now = utcnow()
    detected_at = _not_in_future("detected_at", detected_at or now, now)
    if detected_at < now - policy.max_backdate:
        days = policy.data["incidents"]["max_backdate_days"]
        raise InvalidInput("detected_at", f"不能早于 {days} 天前 (must not be more than {days} days in the past; policy "
                                          "incidents.max_backdate_days)")
    if estimated_recovery_at is not None and ensure_aware_utc(estimated_recovery_at) <= detected_at:
        raise InvalidInput("estimated_recovery_at", "必须晚于故障发生时间 (must be after detected_at)")
    services = _distinct(services)
    regions = _distinct(regions)
    # Only catalog codes (and the policy's "whole network" words) make a scope anyone can be notified in.
    catalog.require_services("services", services, allowed=policy.grading["all_services_markers"])
    catalog.require_regions("regions", regions, allowed=policy.grading["all_regions_markers"])

    affected = scope_profile(services, regions, policy).affected
    proposed = propose_level(services, regions, affected, policy)
    level = level or proposed
    if level != proposed and not (level_reason or "").strip():
        raise InvalidInput("level_reason", f"定级 {level} 与建议定级 {proposed} 不同，须说明理由 (a reason is required to override the proposed level)")
    is_major = _resolve_major(level, major, major_reason, previous_major=False)
    plans.known_plans(plan_ids or [])   # an unknown plan refuses the declaration before anything is written

    incident = Incident(
        number=next_incident_number(now, policy.zone),
        title=title.strip(), description=description or "", services=services, regions=regions,
        level=level, proposed_level=proposed, level_reason=(level_reason or None) if level != proposed else None,
        major=is_major, major_reason=major_reason if is_major and level != 1 else None,
        status=Status.declared.value, drill=bool(drill), detected_at=detected_at,
        estimated_recovery_at=ensure_aware_utc(estimated_recovery_at) if estimated_recovery_at else None,
        policy_version=record_policy_version(policy), created_by=actor.id, created_at=now, updated_at=now,
    )
    db.session.add(incident)
    db.session.flush()
    timeline.record(
        incident, EventKind.declared, actor=actor,
        message=f"{'登记演练' if incident.drill else '登记故障'} {incident.number}：{incident.title}"
                f"（建议定级 {proposed} 级，定级 {level} 级）",
        after=_snapshot(incident, "number", "title", "services", "regions", "level", "proposed_level",
                        "level_reason", "major", "major_reason", "detected_at", "estimated_recovery_at", "drill"),
    )
    plans.cite_in_transaction(incident, plan_ids or [], actor)
    flows.declared(incident)
    return incident


def _distinct(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value.strip(), None)
    return list(seen)


def _resolve_major(level: int, major: bool | None, major_reason: str | None, previous_major: bool) -> bool:
    """Every level 1 is major; a level 2/3 incident is major only when marked so, with a reason."""
    if level == 1:
        if major is False:
            raise InvalidInput("major", "一级故障均为重大服务中断 (every level 1 incident is major)")
        return True
    if major is None:
        return previous_major
    if major and not (major_reason or "").strip():
        raise InvalidInput("major_reason", "标记为重大服务中断须说明理由 (a reason is required to mark a major interruption)")
    return major


@retry_on_conflict
def report(incident_id: int, actor: User, *, fault_type: str, scope_summary: str,
           estimated_recovery_at: datetime | None) -> Incident:
    incident = get_incident(incident_id, for_update=True)
    _require_state(incident, "report", [Status.declared])
    before = _snapshot(incident, "status", "fault_type", "scope_summary", "estimated_recovery_at")
    if estimated_recovery_at is not None:
        estimated_recovery_at = ensure_aware_utc(estimated_recovery_at)
        if estimated_recovery_at <= incident.detected_at:
            raise InvalidInput("estimated_recovery_at", "必须晚于故障发生时间 (must be after detected_at)")
    elif incident.estimated_recovery_at is None:
        raise InvalidInput("estimated_recovery_at", "上报须包含预计恢复时间 (the report must give an estimated recovery time)")
    now = utcnow()
    incident.status = Status.reported.value
    incident.reported_at = now
    incident.fault_type = fault_type
    incident.scope_summary = scope_summary
    incident.estimated_recovery_at = estimated_recovery_at or incident.estimated_recovery_at
    incident.updated_at = now
    timeline.record(incident, EventKind.reported, actor=actor, message=f"发起上报服务调度中心（待调度中心确认接收）：{fault_type}",
                    before=before, after=_snapshot(incident, "status", "fault_type", "scope_summary", "estimated_recovery_at"))
    flows.reported(incident)
    _commit()
    return incident


@retry_on_conflict
def respond(incident_id: int, actor: User, *, responder: str, emergency_response: bool) -> Incident:
    incident = get_incident(incident_id, for_update=True)
    _require_state(incident, "respond", [Status.reported])
    if incident.major and not emergency_response:
        raise InvalidInput("emergency_response", "重大服务中断须启动应急响应 (a major interruption requires emergency response)")
    before = _snapshot(incident, "status", "responder", "emergency_response_at")
    now = utcnow()
    incident.status = Status.responding.value
    incident.responded_at = now
    incident.responder = responder.strip()
    if emergency_response:
        incident.emergency_response_at = now
    incident.updated_at = now
    message = f"{incident.responder} 负责处理" + ("，已启动应急响应" if emergency_response else "")
    timeline.record(incident, EventKind.responded, actor=actor, message=message, before=before,
                    after=_snapshot(incident, "status", "responder", "emergency_response_at"))
    flows.responded(incident)
    _commit()
    return incident


@retry_on_conflict
def post_update(incident_id: int, actor: User, *, message: str, notify_subscribers: bool, public: bool = False):
    """``public`` marks the message for the public status page; the flag lives in the event's
    ``after`` JSON because the timeline is append-only."""
    incident = get_incident(incident_id, for_update=True)
    _require_state(incident, "update", [*OPEN_BEFORE_RECOVERY, Status.recovered])
    incident.updated_at = utcnow()
    event = timeline.record(incident, EventKind.progress_update, actor=actor, message=message,
                            after={"notify_subscribers": notify_subscribers, "public": public})
    db.session.flush()
    flows.update_posted(incident, event, notify_subscribers)
    _commit()
    return event


@retry_on_conflict
def regrade(incident_id: int, actor: User, *, level: int, reason: str, major: bool | None = None,
            major_reason: str | None = None) -> Incident:
    incident = get_incident(incident_id, for_update=True)
    _require_state(incident, "regrade", [*OPEN_BEFORE_RECOVERY, Status.recovered])
    # Leaving level 1 drops the implied major flag unless the caller keeps it explicitly.
    previous_major = incident.major if incident.level != 1 else False
    is_major = _resolve_major(level, major, major_reason or reason, previous_major)
    if level == incident.level and is_major == incident.major:
        raise InvalidInput("level", "定级与重大标记均未变化 (level and major are unchanged)")
    before = _snapshot(incident, "level", "major", "major_reason", "level_reason")
    incident.level = level
    incident.level_reason = reason
    incident.major = is_major
    incident.major_reason = (major_reason or reason) if is_major and level != 1 else None
    incident.updated_at = utcnow()
    after = _snapshot(incident, "level", "major", "major_reason", "level_reason")
    timeline.record(incident, EventKind.regraded, actor=actor,
                    message=f"定级由 {before['level']} 级调整为 {level} 级：{reason}", before=before, after=after)
    flows.regraded(incident, actor)
    _commit()
    return incident


def validate_responsibility(entries: list[ResponsibilityEntry]) -> None:
    if not entries:
        raise InvalidInput("entries", "至少需要一条责任认定 (at least one entry is required)")
    seen: set[tuple[str, str, str]] = set()
    for index, entry in enumerate(entries):
        if entry.category not in CAUSES:
            raise InvalidInput(f"entries.{index}.category", f"未知原因类别 {entry.category!r} (unknown category; one of {sorted(CAUSES)})")
        if entry.sub_cause not in CAUSES[entry.category]:
            raise InvalidInput(f"entries.{index}.sub_cause",
                               f"{entry.sub_cause!r} 不属于 {entry.category} (unknown sub_cause; one of {sorted(CAUSES[entry.category])})")
        key = (entry.category, entry.sub_cause, entry.party.strip())
        if key in seen:
            raise InvalidInput(f"entries.{index}", "重复的责任条目 (duplicate entry)")
        seen.add(key)
    total = sum(entry.share for entry in entries)
    if total != 100:
        raise InvalidInput("entries", f"责任比例合计为 {total}%，应为 100% (shares must sum to 100, got {total})")


@retry_on_conflict
def set_responsibility(incident_id: int, actor: User, entries: list[ResponsibilityEntry],
                       expected_row_version: int | None = None) -> Incident:
    """``expected_row_version`` (the client's If-Match): 409 naming the current row_version when stale."""
    incident = get_incident(incident_id, for_update=True)
    if expected_row_version is not None and expected_row_version != incident.row_version:
        raise TransitionNotAllowed(
            "responsibility", "changed",
            f"故障单已被他人修改（版本 {incident.row_version}），请刷新后重试 (stale write: row_version is "
            f"{incident.row_version}, If-Match named {expected_row_version})",
            row_version=incident.row_version)
    _require_state(incident, "responsibility", [*OPEN_BEFORE_RECOVERY, Status.recovered])
    validate_responsibility(entries)
    before = {"entries": responsibility_as_dicts(incident)}
    incident.responsibilities.clear()
    db.session.flush()
    for entry in entries:
        incident.responsibilities.append(Responsibility(category=entry.category, sub_cause=entry.sub_cause,
                                                        party=entry.party.strip(), share=entry.share))
    incident.updated_at = utcnow()
    after = {"entries": responsibility_as_dicts(incident)}
    timeline.record(incident, EventKind.responsibility_set, actor=actor, message="责任认定已更新", before=before, after=after)
    _commit()
    return incident


def responsibility_as_dicts(incident: Incident) -> list[dict[str, Any]]:
    return [{"category": r.category, "sub_cause": r.sub_cause, "party": r.party, "share": r.share}
            for r in incident.responsibilities]


@retry_on_conflict
def recover(incident_id: int, actor: User, *, summary: str, recovered_at: datetime | None = None) -> Incident:
    incident = get_incident(incident_id, for_update=True)
    _require_state(incident, "recover", [Status.responding])
    now = utcnow()
    recovered_at = _not_in_future("recovered_at", recovered_at or now, now)
    if recovered_at < incident.detected_at:
        raise InvalidInput("recovered_at", "不能早于故障发生时间 (must not be before detected_at)")
    policy = current_policy()
    affected = scope_profile(incident.services, incident.regions, policy).affected
    before = _snapshot(incident, "status")
    incident.status = Status.recovered.value
    incident.recovered_at = recovered_at
    incident.recovery_summary = summary
    incident.affected_subscribers_at_recovery = affected
    incident.user_minutes_at_recovery = affected * outage_minutes(incident.detected_at, recovered_at)
    incident.updated_at = now
    timeline.record(incident, EventKind.recovered, actor=actor, message=f"业务已恢复：{summary}", before=before,
                    after=_snapshot(incident, "status", "recovered_at", "affected_subscribers_at_recovery",
                                    "user_minutes_at_recovery"))
    flows.recovered(incident)
    _commit()
    return incident


CLOSURE_BLOCKER_LABELS = {"responsibility": "原因与责任认定", "analysis_report": "已提交的故障分析报告",
                          "formal_notice": "已发出的正式通知"}


def formal_notice_unsent(incident: Incident) -> bool:
    """RULES §9: a major incident owes its 正式通知 before closure or report approval.

    Sent means its batch was handed over in full, i.e. the ``formal_notice`` deadline has a
    ``met_at`` (on time, or late and still breached)."""
    if not incident.major:
        return False
    return deadlines.fulfilled_at(incident, "formal_notice") is None


def closure_blockers(incident: Incident) -> list[str]:
    missing = []
    if not incident.responsibilities:
        missing.append("responsibility")
    if incident.analysis_report_submitted_at is None:
        missing.append("analysis_report")
    if formal_notice_unsent(incident):
        missing.append("formal_notice")
    return missing


@retry_on_conflict
def close(incident_id: int, actor: User) -> Incident:
    incident = get_incident(incident_id, for_update=True)
    _require_state(incident, "close", [Status.recovered])
    missing = closure_blockers(incident)
    if missing:
        raise TransitionNotAllowed(
            "close", incident.status,
            "尚缺：" + "、".join(CLOSURE_BLOCKER_LABELS[m] for m in missing) + f" (cannot close; missing: {', '.join(missing)})",
            missing=missing,
        )
    now = utcnow()
    incident.status = Status.closed.value
    incident.closed_at = now
    incident.updated_at = now
    timeline.record(incident, EventKind.closed, actor=actor, message="故障已闭环", before={"status": Status.recovered.value},
                    after={"status": Status.closed.value, "closed_at": _iso(now)})
    flows.closed(incident, actor)
    _commit()
    return incident


@retry_on_conflict
def cancel(incident_id: int, actor: User, *, reason: str) -> Incident:
    incident = get_incident(incident_id, for_update=True)
    _require_state(incident, "cancel", OPEN_BEFORE_RECOVERY)
    now = utcnow()
    before = _snapshot(incident, "status")
    incident.status = Status.cancelled.value
    incident.cancelled_at = now
    incident.cancel_reason = reason
    incident.updated_at = now
    timeline.record(incident, EventKind.cancelled, actor=actor, message=f"误报撤销：{reason}", before=before,
                    after=_snapshot(incident, "status", "cancelled_at", "cancel_reason"))
    flows.cancelled(incident)
    _commit()
    return incident


def mark_analysis_report_submitted(incident: Incident, actor: User, submitted_at: datetime) -> None:
    """Called by the reports domain inside its own unit of work (it commits)."""
    incident.analysis_report_submitted_at = submitted_at
    incident.updated_at = submitted_at
    timeline.record(incident, EventKind.analysis_report_submitted, actor=actor, message="故障分析报告已提交",
                    after={"analysis_report_submitted_at": _iso(submitted_at)})


def list_incidents(*, status: str | None = None, level: int | None = None, major: bool | None = None,
                   breached: bool | None = None, open_only: bool = False, search: str | None = None,
                   region: str | None = None, worst_first: bool = False, drill: bool | None = None):
    """A query of incidents, newest first (or ``worst_first``: open ones, then level, major and the
    time left to the next deadline); the views paginate it with :func:`incident_page`.
    ``search`` matches the number or a part of the title; ``region`` one of the incident's regions."""
    from app.scheduling.service import breached_filter, next_due_column

    query = select(Incident).options(selectinload(Incident.responsibilities))
    if worst_first:
        closed = case((Incident.status.in_(CLOSED_STATES), 1), else_=0)
        next_due = next_due_column(Incident.id)
        query = query.order_by(closed, Incident.level, Incident.major.desc(), next_due.is_(None), next_due,
                               Incident.detected_at.desc(), Incident.id.desc())
    else:
        query = query.order_by(Incident.detected_at.desc(), Incident.id.desc())
    if status:
        query = query.where(Incident.status == status)
    if open_only:
        query = query.where(Incident.status.not_in(CLOSED_STATES))
    if level:
        query = query.where(Incident.level == level)
    if major is not None:
        query = query.where(Incident.major.is_(major))
    if drill is not None:
        query = query.where(Incident.drill.is_(drill))
    if breached is not None:
        query = query.where(breached_filter(Incident.id, breached))
    if region and region.strip():
        query = query.where(_names_region(region.strip()))
    if search and search.strip():
        text = search.strip()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Incident.number.ilike(pattern, escape="\\"), Incident.title.ilike(pattern, escape="\\")))
    return query


def _names_region(region: str):
    """The incident touches ``region``: its regions (a JSON list) name it, a region below it (the
    districts of a city asked for), one above it (its city or province, which cover it), or the
    whole network. An operator filtering by 杭州 sees the 西湖区 outage and the province-wide one."""
    from app.catalog.service import ancestors_of, regions_within

    names = regions_within([region]) + list(db.session.scalars(ancestors_of(literal(region))))
    names += current_policy().grading["all_regions_markers"]
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(Incident.regions, JSONB).has_any(array(names, type_=Text))
    items = func.json_each(Incident.regions).table_valued("value")
    return select(items.c.value).where(items.c.value.in_(names)).exists()


def incident_page(query, page: int, per_page: int) -> dict:
    """One page of a list: what each row shows is read in one query per kind for the whole page
    (responsibility by the query's selectinload, deadlines here), never a query per row."""
    from app.scheduling.service import preload_deadlines

    result = paginate(query, page, per_page)
    preload_deadlines([incident.id for incident in result["items"]])
    return result


def timeline_of(incident_id: int):
    from app.incidents.models import TimelineEvent

    get_incident(incident_id)
    return db.session.scalars(
        select(TimelineEvent).where(TimelineEvent.incident_id == incident_id).order_by(TimelineEvent.at, TimelineEvent.id)
    ).all()


def count_incidents(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


# --- what changed, for the live console (app/web/live.py) ------------------------------------

# Events of the last this-many ids are counted too, so an event whose transaction commits after
# a later-numbered one (ids are handed out before commit) still changes the marker.
RECENT_EVENT_WINDOW = 200
ALARM_EVENT_KINDS = ("declared", "regraded", "deadline_breached")


def change_marker(incident_id: int | None = None) -> str:
    """A short text that changes whenever an incident (or, with None, any incident) changes:
    every change appends a timeline event, so the newest events say it. Read from the database,
    so every server process gives the same answer."""
    from app.incidents.models import TimelineEvent

    if incident_id is None:
        newest = select(func.coalesce(func.max(TimelineEvent.id), 0)).scalar_subquery()
        query = select(func.max(TimelineEvent.id), func.count()).where(TimelineEvent.id > newest - RECENT_EVENT_WINDOW)
    else:
        query = select(func.max(TimelineEvent.id), func.count()).where(TimelineEvent.incident_id == incident_id)
    newest_id, count = db.session.execute(query).one()
    return f"{newest_id or 0}.{count}"


def latest_event_id() -> int:
    from app.incidents.models import TimelineEvent

    return db.session.scalar(select(func.max(TimelineEvent.id))) or 0


def alarms_since(event_id: int, limit: int = 10) -> list[dict[str, Any]]:
    """What should raise the console's banner since timeline event ``event_id``: a new level-1 or
    major incident (declared, or regraded into it) and a breached deadline, of open incidents only."""
    from app.incidents.models import TimelineEvent

    rows = db.session.execute(
        select(TimelineEvent.id, TimelineEvent.kind, TimelineEvent.message, Incident.id.label("incident_id"),
               Incident.number, Incident.title, Incident.level, Incident.major, Incident.drill)
        .join(Incident, Incident.id == TimelineEvent.incident_id)
        .where(TimelineEvent.id > event_id, TimelineEvent.kind.in_(ALARM_EVENT_KINDS),
               Incident.status.not_in(CLOSED_STATES),
               or_(TimelineEvent.kind == "deadline_breached", Incident.level == 1, Incident.major.is_(True)))
        .order_by(TimelineEvent.id.desc()).limit(limit)
    ).all()
    # A drill's banner says so in its title (the banner shows number and title).
    return [{**row._mapping, "title": drill_text(row.title, row.drill)} for row in reversed(rows)]
