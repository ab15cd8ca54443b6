"""The complaint's life (RULES §8). Only this module changes a complaint.

Each public function is one unit of work: it validates, changes the complaint, appends to
its history, calls the scheduling (deadlines) and notify (messages) services explicitly,
in that order, and commits. Bad input changes nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import JSON, String, case, cast, func, literal, null, select, update

from app.auth.models import Role, User
from app.auth.service import active_user_by_name
from app.catalog import service as catalog
from app.clock import ensure_aware_utc, utcnow
from app.complaints import limits, messages, timeline
from app.complaints.models import (
    BEFORE_RESULT,
    Category,
    Channel,
    Complaint,
    ComplaintEvent,
    ComplaintNumberCounter,
    Status,
)
from app.complaints.timeline_kinds import ComplaintEventKind
from app.daily_numbers import next_daily_number
from app.errors import DomainError, InvalidInput, TransitionNotAllowed
from app.extensions import db
from app.incidents.scope import incident_covering
from app.incidents.service import get_incident
from app.notify.kinds import ComplaintNoticeKind
from app.notify.complainants import queue_to_complainants
from app.notify.templates import local_time
from app.models import record_policy_version
from app.phones import InvalidPhone, to_e164
from app.policy import Policy, current_policy
from app.scheduling import complaints as deadlines
from app.scheduling.models import ComplaintDeadlineKind as Kind
from app.sql import commit_or_conflict, get_or_404
from app.subscribers.service import subscriber_by_phone

class NotYourGrade(DomainError):
    """403: the complaint's grade (or an appeal review) needs a higher tier than the caller's."""

    status_code = 403


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _snapshot(complaint: Complaint, *names: str) -> dict[str, Any]:
    return {name: _iso(getattr(complaint, name)) for name in names}


def _commit() -> None:
    commit_or_conflict(("投诉单", "complaint"))


def get_complaint(complaint_id: int, *, for_update: bool = False) -> Complaint:
    return get_or_404(Complaint, complaint_id, label=("投诉单", "complaint"), field="complaint_id", for_update=for_update)


def _require_state(complaint: Complaint, action: str, allowed: Iterable[Status]) -> None:
    if complaint.status not in {s.value for s in allowed}:
        raise TransitionNotAllowed(action, complaint.status)


def _require_handler(complaint: Complaint, actor: User, policy: Policy) -> None:
    """二级 and up (policy) are handled by a duty manager, not a front-line agent."""
    if complaint.grade >= policy.complaints["duty_manager_from_grade"] and actor.role == Role.agent.value:
        raise NotYourGrade(f"{complaint.grade} 级投诉须由值班经理处理 (grade {complaint.grade} is handled by a duty manager)",
                           grade=complaint.grade)


# --- registration ----------------------------------------------------------------------

def _parse_registration(phone: str, received_at: datetime | None, category: str, grade: int, channel: str,
                        now: datetime) -> tuple[str, datetime]:
    try:
        e164 = to_e164(phone)
    except InvalidPhone as exc:
        raise InvalidInput("phone", str(exc)) from None
    if category not in {c.value for c in Category}:
        raise InvalidInput("category", f"未知投诉类别 {category!r} (one of {[c.value for c in Category]})")
    if channel not in {c.value for c in Channel}:
        raise InvalidInput("channel", f"未知受理渠道 {channel!r} (one of {[c.value for c in Channel]})")
    if not 1 <= grade <= 4:
        raise InvalidInput("grade", "投诉分级为 1–4 (grade must be 1 to 4)")
    received_at = ensure_aware_utc(received_at or now)
    if received_at > now:
        raise InvalidInput("received_at", "不能晚于当前时间 (must not be in the future)")
    return e164, received_at


def _is_repeat(phone: str, category: str, received_at: datetime, policy: Policy) -> bool:
    """Same phone, same category within the policy's window before this one (ix_complaints_phone_category_received_at)."""
    since = received_at - timedelta(days=policy.complaints["repeat_window_days"])
    return db.session.scalar(select(Complaint.id).where(
        Complaint.phone == phone, Complaint.category == category,
        Complaint.received_at >= since, Complaint.received_at <= received_at).limit(1)) is not None


def register(actor: User, *, phone: str, name: str, channel: str, category: str, grade: int, content: str,
             received_at: datetime | None = None, urgent: bool = False, region: str | None = None,
             service: str | None = None) -> Complaint:
    """受理与登记: number it, flag a repeat, link it to the incident that caused it, start its limits."""
    policy = current_policy()
    now = utcnow()
    e164, received_at = _parse_registration(phone, received_at, category, grade, channel, now)
    region, service = (region or "").strip() or None, (service or "").strip() or None
    catalog.require_regions("region", [region] if region else [])
    catalog.require_services("service", [service] if service else [])
    subscriber = subscriber_by_phone(e164)
    complaint = Complaint(
        number=next_daily_number(ComplaintNumberCounter.__table__, "TS", now, policy.zone),
        phone=e164, subscriber_id=subscriber[0] if subscriber else None, name=name.strip(), channel=channel,
        received_at=received_at, category=category, grade=grade, content=content.strip(), urgent=bool(urgent),
        region=region, service=service,
        repeat=_is_repeat(e164, category, received_at, policy), status=Status.registered.value,
        owner_id=actor.id, registered_by=actor.id, policy_version=record_policy_version(policy),
        created_at=now, updated_at=now,
    )
    db.session.add(complaint)
    db.session.flush()
    timeline.record(complaint.id, ComplaintEventKind.registered, actor=actor,
                    message=f"受理投诉 {complaint.number}（{Category(category).label}，{grade} 级{'，紧急' if urgent else ''}{'，重复投诉' if complaint.repeat else ''}），首接责任人 {actor.name}",
                    after=_snapshot(complaint, "number", "channel", "received_at", "category", "grade", "urgent", "repeat"))
    owed = limits.at_registration(category, received_at, policy)
    deadlines.schedule(complaint.id, owed, policy)
    deadlines.fulfil(complaint.id, Kind.register, now)
    if category == Category.service_quality.value and subscriber:
        _link(complaint, _covering(subscriber[0], subscriber[1], None, policy, now), now)
    elif category == Category.service_quality.value and region and service:
        # Not our subscriber (or not under this number): where they are and what failed, as they said.
        _link(complaint, _covering(None, region, [service], policy, now), now)
    messages.acknowledge(complaint, limits.expected_result_at(owed), policy)
    deadlines.fulfil(complaint.id, Kind.acknowledge, now)
    _commit()
    return complaint


def _covering(subscriber_id: int | None, region: str, services: list[str] | None, policy: Policy, now: datetime):
    since = now - timedelta(hours=policy.complaints["link_recovered_within_hours"])
    return incident_covering(subscriber_id, region, since, policy, services)


def _link(complaint: Complaint, incident, now: datetime) -> None:
    """Inside an open (or lately recovered) incident's scope: the cause is known — investigation met."""
    if incident is None:
        return
    complaint.incident_id = incident.id
    complaint.investigation = f"由故障 {incident.number}「{incident.title}」引起"
    complaint.investigated_at = now
    complaint.status = Status.investigated.value
    timeline.record(complaint.id, ComplaintEventKind.linked, actor=None, message=f"关联故障 {incident.number}：{incident.title}",
                    after={"incident_id": incident.id, "incident_number": incident.number})
    deadlines.fulfil(complaint.id, Kind.investigate, now)


# --- handling ---------------------------------------------------------------------------

def assign(complaint_id: int, actor: User, *, agent: str, reason: str) -> Complaint:
    """Reassign (转派): who, to whom and why, on the record."""
    complaint = get_complaint(complaint_id, for_update=True)
    _require_state(complaint, "assign", [s for s in Status if s is not Status.closed])
    target = active_user_by_name(agent)
    if target is None or target.role not in (Role.agent.value, Role.duty_manager.value):
        raise InvalidInput("agent", f"{agent!r} 不是在岗的客服坐席或值班经理 (not an active agent or duty manager)")
    if target.id == complaint.owner_id:
        raise InvalidInput("agent", "已是当前责任人 (already the owner)")
    before = {"owner_id": complaint.owner_id}
    complaint.owner_id, complaint.updated_at = target.id, utcnow()
    timeline.record(complaint.id, ComplaintEventKind.assigned, actor=actor, message=f"{actor.name} 转派给 {target.name}：{reason}",
                    before=before, after={"owner_id": target.id, "owner": target.name, "reason": reason})
    _commit()
    return complaint


def investigate(complaint_id: int, actor: User, *, findings: str) -> Complaint:
    """初步调查, or the appeal's investigation while an appeal is open."""
    policy = current_policy()
    complaint = get_complaint(complaint_id, for_update=True)
    _require_state(complaint, "investigate", [Status.registered, Status.appealed])
    _require_handler(complaint, actor, policy)
    now = utcnow()
    if complaint.status == Status.appealed.value:
        complaint.appeal_investigation, complaint.appeal_investigated_at = findings, now
        complaint.status, kind = Status.appeal_investigated.value, Kind.appeal_investigation
        event = ComplaintEventKind.appeal_investigated
    else:
        complaint.investigation, complaint.investigated_at = findings, now
        complaint.status, kind = Status.investigated.value, Kind.investigate
        event = ComplaintEventKind.investigated
    complaint.updated_at = now
    timeline.record(complaint.id, event, actor=actor, message=f"调查：{findings}", after={"findings": findings})
    deadlines.fulfil(complaint.id, kind, now)
    _commit()
    return complaint


def feedback(complaint_id: int, actor: User, *, result: str, send_sms: bool = True) -> Complaint:
    """反馈处理结果: the written result (书面反馈), optionally by SMS; once only."""
    policy = current_policy()
    complaint = get_complaint(complaint_id, for_update=True)
    _require_state(complaint, "feedback", BEFORE_RESULT)
    _require_handler(complaint, actor, policy)
    now = utcnow()
    complaint.result, complaint.fed_back_at, complaint.status = result, now, Status.fed_back.value
    complaint.updated_at = now
    timeline.record(complaint.id, ComplaintEventKind.fed_back, actor=actor, message=f"反馈处理结果：{result}",
                    after={"result": result, "send_sms": send_sms})
    deadlines.fulfil(complaint.id, Kind.feedback, now)
    deadlines.fulfil(complaint.id, Kind.written_feedback, now)
    deadlines.schedule(complaint.id, limits.after_feedback(now, policy), policy)
    if send_sms:
        messages.result(complaint, policy)
    _commit()
    return complaint


def follow_up(complaint_id: int, actor: User, *, satisfaction: int | None = None, note: str = "") -> Complaint:
    """回访, with the complainant's satisfaction 1–5 when given (otherwise asked for by SMS)."""
    policy = current_policy()
    complaint = get_complaint(complaint_id, for_update=True)
    _require_state(complaint, "follow_up", [Status.fed_back])
    _require_handler(complaint, actor, policy)
    now = utcnow()
    complaint.followed_up_at, complaint.status, complaint.updated_at = now, Status.followed_up.value, now
    if satisfaction is not None:
        complaint.satisfaction = satisfaction
    else:
        messages.survey(complaint, policy)
    timeline.record(complaint.id, ComplaintEventKind.followed_up, actor=actor,
                    message="回访" + (f"，满意度 {satisfaction} 分" if satisfaction else "，满意度调查短信已发送") + (f"：{note}" if note else ""),
                    after={"satisfaction": satisfaction, "note": note or None})
    deadlines.fulfil(complaint.id, Kind.follow_up, now)
    _commit()
    return complaint


def close(complaint_id: int, actor: User, *, note: str = "") -> Complaint:
    """闭环: after the follow-up, or after an appeal's review (which meets the appeal's closure)."""
    policy = current_policy()
    complaint = get_complaint(complaint_id, for_update=True)
    _require_state(complaint, "close", [Status.followed_up, Status.appeal_reviewed])
    _require_handler(complaint, actor, policy)
    now = utcnow()
    before = _snapshot(complaint, "status")
    complaint.closed_at, complaint.status, complaint.updated_at = now, Status.closed.value, now
    timeline.record(complaint.id, ComplaintEventKind.closed, actor=actor, message="投诉已闭环" + (f"：{note}" if note else ""), before=before,
                    after={"status": complaint.status, "closed_at": _iso(now)})
    if complaint.appealed_at is not None:
        deadlines.fulfil(complaint.id, Kind.appeal_close, now)
    _commit()
    return complaint


# --- appeals (申诉) ------------------------------------------------------------------------

def accept_appeal(complaint_id: int, actor: User, *, reason: str) -> Complaint:
    """Accept an appeal against the result: only once a result was fed back, and only once."""
    policy = current_policy()
    complaint = get_complaint(complaint_id, for_update=True)
    if complaint.appealed_at is not None:
        raise TransitionNotAllowed("appeal", complaint.status, f"已受理过申诉 (an appeal was already accepted; state '{complaint.status}')")
    _require_state(complaint, "appeal", [Status.fed_back, Status.followed_up, Status.closed])
    now = utcnow()
    before = _snapshot(complaint, "status")
    complaint.appeal_reason, complaint.appealed_at = reason, now
    complaint.status, complaint.closed_at, complaint.updated_at = Status.appealed.value, None, now
    timeline.record(complaint.id, ComplaintEventKind.appeal_accepted, actor=actor, message=f"受理申诉：{reason}", before=before,
                    after={"status": complaint.status, "reason": reason})
    deadlines.cancel_pending(complaint.id, [Kind.follow_up])
    deadlines.schedule(complaint.id, limits.at_appeal(now, policy), policy)
    _commit()
    return complaint


def review_appeal(complaint_id: int, actor: User, *, result: str) -> Complaint:
    """复核 by a higher tier: a duty manager who is not the complaint's owner."""
    complaint = get_complaint(complaint_id, for_update=True)
    _require_state(complaint, "appeal_review", [Status.appealed, Status.appeal_investigated])
    if actor.id == complaint.owner_id:
        raise NotYourGrade("复核须由上级人员，而非本投诉的处理人 (the review is by a higher tier, not the owner)")
    now = utcnow()
    complaint.appeal_result, complaint.appeal_reviewed_at, complaint.appeal_reviewer_id = result, now, actor.id
    if complaint.appeal_investigated_at is None:
        # The reviewer's own investigation: the review covers it.
        complaint.appeal_investigated_at = now
        deadlines.fulfil(complaint.id, Kind.appeal_investigation, now)
    complaint.status, complaint.updated_at = Status.appeal_reviewed.value, now
    timeline.record(complaint.id, ComplaintEventKind.appeal_reviewed, actor=actor, message=f"申诉复核：{result}", after={"result": result})
    deadlines.fulfil(complaint.id, Kind.appeal_review, now)
    _commit()
    return complaint


# --- the incidents that caused them ---------------------------------------------------------

def feed_back_incident_complaints(incident_id: int, actor: User) -> int:
    """The incident recovered: offer every linked complaint still awaiting its result the
    recovery (one action, set-based). Each complaint is fed back once — a second call finds
    none left — and each complainant gets one result SMS. Returns how many were fed back."""
    policy = current_policy()
    incident = get_incident(incident_id)
    if incident.recovered_at is None:
        raise TransitionNotAllowed("feed_back_complaints", incident.status,
                                   f"故障尚未恢复 (the incident has not recovered; state '{incident.status}')")
    now = utcnow()
    waiting = select(Complaint.id).where(Complaint.incident_id == incident.id,
                                         Complaint.status.in_([s.value for s in BEFORE_RESULT]))
    ids = list(db.session.scalars(waiting.with_for_update()))
    if not ids:
        return 0
    text = f"您反映的问题由故障 {incident.number} 引起，业务已于 {local_time(incident.recovered_at, policy.zone)} 恢复。"
    db.session.execute(update(Complaint).where(Complaint.id.in_(ids)).values(
        result=text, fed_back_at=now, status=Status.fed_back.value, updated_at=now,
        row_version=Complaint.row_version + 1).execution_options(synchronize_session=False))
    chosen = select(Complaint.id).where(Complaint.id.in_(ids))
    timeline.record_from_select(select(
        Complaint.id.label("complaint_id"), literal(ComplaintEventKind.fed_back.value, String()).label("kind"),
        literal(f"{actor.name} 反馈处理结果（故障恢复）：{text}", String()).label("message"),
        cast(null(), JSON).label("after")).where(Complaint.id.in_(ids)))
    deadlines.fulfil_many(chosen, Kind.feedback, now)
    deadlines.fulfil_many(chosen, Kind.written_feedback, now)
    deadlines.schedule_many(chosen, limits.after_feedback(now, policy)[0], policy)
    queue_to_complainants(incident.id, ComplaintNoticeKind.complaint_result,
                          select(Complaint.id, Complaint.phone, Complaint.subscriber_id).where(Complaint.id.in_(ids)),
                          {"complaint_number": None, "result": text}, policy)
    db.session.commit()
    return len(ids)


def record_survey_reply(complaint_id: int, score: int) -> None:
    """A 1–5 reply to the complaint's survey (the last reply counts). In the caller's unit of work."""
    complaint = get_complaint(complaint_id, for_update=True)
    complaint.satisfaction, complaint.updated_at = score, utcnow()
    timeline.record(complaint.id, ComplaintEventKind.satisfaction_reply, actor=None, message=f"短信回复满意度 {score} 分",
                    after={"satisfaction": score})


# --- reading ------------------------------------------------------------------------------

def list_complaints(*, status: str | None = None, category: str | None = None, grade: int | None = None,
                    incident_id: int | None = None, overdue: bool | None = None, agent: str | None = None):
    """A query of complaints: overdue first, then by the next due time, then newest."""
    now = utcnow()
    is_overdue = deadlines.overdue_filter(Complaint.id, now)
    query = select(Complaint).order_by(case((is_overdue, 0), else_=1), deadlines.next_due_at(Complaint.id).is_(None),
                                       deadlines.next_due_at(Complaint.id), Complaint.received_at.desc(), Complaint.id.desc())
    for column, value in ((Complaint.status, status), (Complaint.category, category), (Complaint.grade, grade),
                          (Complaint.incident_id, incident_id)):
        if value is not None:
            query = query.where(column == value)
    if overdue is not None:
        query = query.where(is_overdue if overdue else ~is_overdue)
    if agent:
        query = query.where(Complaint.owner_id == select(User.id).where(User.name == agent).scalar_subquery())
    return query


def timeline_of(complaint_id: int) -> list[ComplaintEvent]:
    get_complaint(complaint_id)
    return list(db.session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
                                   .order_by(ComplaintEvent.at, ComplaintEvent.id)))


def deadlines_of(complaint_id: int) -> list[dict]:
    get_complaint(complaint_id)
    return deadlines.deadlines_for_api(complaint_id)


def is_overdue(complaint_id: int) -> bool:
    return bool(db.session.scalar(select(deadlines.overdue_filter(complaint_id))))


def complaint_count(incident_id: int) -> int:
    """How many complaints an incident drew (the incident page and its analysis report)."""
    return db.session.scalar(select(func.count()).select_from(Complaint).where(Complaint.incident_id == incident_id)) or 0


def owner_names(user_ids: Iterable[int]) -> dict[int, str]:
    ids = set(user_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


__all__ = ["register", "assign", "investigate", "feedback", "follow_up", "close", "accept_appeal", "review_appeal",
           "feed_back_incident_complaints", "record_survey_reply", "list_complaints", "timeline_of", "deadlines_of",
           "complaint_count"]
