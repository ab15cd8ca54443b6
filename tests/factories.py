"""Test data, built in one place (Dispatch's tests/factories.py, GOV.UK Notify's tests/app/db.py):
a new column or a new required field is one edit here.

Subscribers and users are rows; incidents go through the real incidents service (or the API),
so their deadlines, notices and timeline are whatever the product makes of them.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import select, update

from app.auth.models import Role, User
from app.auth.service import create_user
from app.clock import utcnow
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import Incident, Status
from app.notify import fulfilment
from app.notify.kinds import NoticeKind
from app.notify.statuses import PENDING, OutboxStatus
from app.notify import service as notices
from app.notify.models import Notice, NoticeBatch
from app.outbound import service as outbound
from app.outbound.models import OutboundReport, ReportTarget
from app.reports import service as reports
from app.subscribers.models import Subscriber, SubscriberService

TITLE = "杭州城区移动数据业务中断"
SERVICES = ("mobile_data",)
REGIONS = ("杭州",)
# Generated phones start far from the hand-picked ones tests use (+8613800000001 …).
_phone_numbers = itertools.count(50_000_001)
_user_numbers = itertools.count(1)


# --- people ----------------------------------------------------------------------------------

def phone() -> str:
    return f"+86138{next(_phone_numbers):08d}"


def phones(count: int, start: int = 0) -> list[str]:
    """``count`` consecutive hand-picked phones from +86138<start>: tests that name numbers."""
    return [f"+86138{start + i:08d}" for i in range(count)]


def subscribers(phones: list[str], *, region: str = "杭州", services=SERVICES, fee_fen: int = 5800,
                language: str = "zh-CN", name: str = "", opted_out: bool = False,
                created_at: datetime | None = None, commit: bool = True) -> list[Subscriber]:
    """One subscriber per phone with these attributes. Committed, since senders read from their own
    sessions; ``commit=False`` only flushes, for a test that rolls its data back."""
    now = utcnow()
    rows = [Subscriber(phone=number, name=name, region=region, monthly_fee_fen=fee_fen, language=language,
                       opted_out_at=now if opted_out else None, opted_out_source="sms_stop" if opted_out else None,
                       created_at=created_at or now, updated_at=created_at or now,
                       service_rows=[SubscriberService(service=s) for s in services])
            for number in phones]
    db.session.add_all(rows)
    db.session.commit() if commit else db.session.flush()
    return rows


def subscriber(number: str | None = None, **attributes) -> Subscriber:
    """One subscriber (a fresh phone unless given); ``attributes`` as for ``subscribers``."""
    return subscribers([number or phone()], **attributes)[0]


def user(role: Role | str = Role.operator, name: str | None = None, **attributes) -> tuple[User, str]:
    """(user, API token) of a new staff member."""
    return create_user(name or f"{Role(role).value}-{next(_user_numbers)}", role, **attributes)


# --- incidents -------------------------------------------------------------------------------

def incident_fields(**fields) -> dict:
    """What declaring needs: the defaults, then ``fields`` (exactly as given: a test of a refusal
    sends what it sends)."""
    return {"title": TITLE, "services": list(SERVICES), "regions": list(REGIONS), **fields}


def _with_reasons(fields: dict) -> dict:
    """A reason wherever the rules ask for one: a chosen grade, a major incident."""
    reasons = {}
    if fields.get("level") is not None:
        reasons["level_reason"] = "测试定级"
    if fields.get("major"):
        reasons["major_reason"] = "涉及重要客户"
    return {**reasons, **fields}


def incident_body(**fields) -> dict:
    """The JSON body of ``POST /incidents``: times as ISO text."""
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in incident_fields(**fields).items()}


def console_form(fields: dict) -> dict:
    """Declaring fields as the console's form takes them: lists as comma-separated text."""
    return {key: ",".join(value) if isinstance(value, list) else value for key, value in fields.items()}


def post_incident(api, **fields):
    """``POST /incidents`` as ``api``; the response, refused or not."""
    return api.post("/incidents", json=incident_body(**fields))


def declared(api, **fields) -> dict:
    """A declared incident through the API (reasons added where needed): its JSON."""
    response = post_incident(api, **_with_reasons(fields))
    assert response.status_code == 201, response.json
    return response.json


def declare(actor: User, **fields) -> Incident:
    """A declared incident through the incidents service (reasons added where needed)."""
    return incidents.declare(actor, **incident_fields(**_with_reasons(fields)))


def incident_in(status: Status, actor: User, *, closer: User | None = None, **fields) -> Incident:
    """An incident walked through the service to ``status``: declared → reported → responding →
    recovered → (``ready_to_close``) closed; or declared → cancelled. ``closer`` (default
    ``actor``) closes or cancels."""
    incident = declare(actor, **fields)
    if status is Status.cancelled:
        return incidents.cancel(incident.id, closer or actor, reason="误报")
    steps = [
        (Status.reported, lambda: _reported_and_acknowledged(incident.id, actor)),
        (Status.responding, lambda: incidents.respond(incident.id, actor, responder="张伟",
                                                      emergency_response=incident.major)),
        (Status.recovered, lambda: incidents.recover(incident.id, actor, summary="已恢复")),
    ]
    for reached, step in steps:
        if status is Status.declared:
            return incident
        incident = step()
        if status is reached:
            break
    if status is Status.closed:
        ready_to_close(incident, actor)
        incident = incidents.close(incident.id, closer or actor)
    return incident


def _reported_and_acknowledged(incident_id: int, actor: User) -> Incident:
    reported = incidents.report(incident_id, actor, fault_type="基站退服", scope_summary="杭州",
                                estimated_recovery_at=utcnow() + timedelta(days=1))
    dispatch_acknowledges(incident_id)
    return reported


def ready_to_close(incident: Incident, actor: User) -> None:
    """What closure needs besides recovery: the responsibility, a submitted analysis report and,
    for a major incident, its formal notice sent (RULES §9)."""
    incidents.set_responsibility(incident.id, actor, [
        incidents.ResponsibilityEntry("technical", "equipment_failure", "网络部", 100)])
    incidents.mark_analysis_report_submitted(incident, actor, utcnow())
    db.session.commit()
    if incident.major:
        send_formal_notice(incident.id)


# --- outside parties (RULES §9) ----------------------------------------------------------------

def dispatch_acknowledges(incident_id: int | None = None) -> int:
    """The dispatch centre acknowledges every queued 上报 (of ``incident_id``, or all) now, as the
    local receiver answers the outbound worker: each report deadline is met at this moment
    (app/outbound). Returns how many were acknowledged."""
    query = select(OutboundReport.id).where(OutboundReport.target == ReportTarget.dispatch,
                                            OutboundReport.acknowledged_at.is_(None))
    if incident_id is not None:
        query = query.where(OutboundReport.incident_id == incident_id)
    acknowledged = sum(outbound.record_acknowledged(report_id, utcnow(), 200, "stub")
                       for report_id in db.session.scalars(query).all())
    db.session.commit()
    return acknowledged


def send_formal_notice(incident_id: int, explanation: str = "主控板故障导致业务中断，已更换并加装冗余。") -> None:
    """Queue the 正式通知 of a recovered major incident and let the provider accept every notice now,
    as the sender would: its ``formal_notice`` deadline is then met (RULES §9 closure guard)."""
    notices.queue_by_operator(incident_id, NoticeKind.formal, explanation)
    batch_ids = set(db.session.scalars(select(NoticeBatch.id).where(
        NoticeBatch.incident_id == incident_id, NoticeBatch.kind == NoticeKind.formal)))
    db.session.execute(update(Notice).where(Notice.batch_id.in_(batch_ids), Notice.status.in_(PENDING))
                       .values(status=OutboxStatus.accepted, accepted_at=utcnow()))
    fulfilment.check_fulfilment(batch_ids)
    db.session.commit()


def recovered_major_incident(operator, manager, reviewer, *, detected_at: datetime) -> int:
    """A major incident recovered 3 h after ``detected_at``, responsibility set and its analysis
    report submitted: everything closure asks for except, so far, the formal notice."""
    with freeze_time(detected_at + timedelta(minutes=5)):
        incident = incidents.declare(operator, title="杭州移动数据中断", services=["mobile_data"], regions=["杭州"],
                                     detected_at=detected_at, major=True, major_reason="涉及医院")
    with freeze_time(detected_at + timedelta(minutes=10)):
        incidents.report(incident.id, operator, fault_type="基站退服", scope_summary="西湖区",
                         estimated_recovery_at=detected_at + timedelta(hours=4))
        incidents.respond(incident.id, operator, responder="张伟", emergency_response=True)
    with freeze_time(detected_at + timedelta(hours=3)):
        incidents.set_responsibility(incident.id, operator, [
            incidents.ResponsibilityEntry("technical", "equipment_failure", "本公司", 100)])
        incidents.recover(incident.id, operator, summary="更换主控板")
        reports.edit(incident.id, reviewer, {"preventive_measures": "增加主控板冗余"})
        reports.submit(incident.id, manager)
    return incident.id
