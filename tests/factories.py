"""Builders shared by the test areas."""
from __future__ import annotations

from datetime import datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import select, update

from app.clock import utcnow
from app.extensions import db
from app.notify import fulfilment, kinds
from app.notify import service as notices
from app.notify.models import Notice, NoticeBatch


def send_formal_notice(incident_id: int, explanation: str = "主控板故障导致业务中断，已更换并加装冗余。") -> None:
    """Queue the 正式通知 of a recovered major incident and let the provider accept every notice now,
    as the sender would: its ``formal_notice`` deadline is then met (RULES §9 closure guard)."""
    notices.queue_by_operator(incident_id, kinds.FORMAL, explanation)
    batch_ids = set(db.session.scalars(select(NoticeBatch.id).where(
        NoticeBatch.incident_id == incident_id, NoticeBatch.kind == kinds.FORMAL)))
    db.session.execute(update(Notice).where(Notice.batch_id.in_(batch_ids), Notice.status.in_(kinds.PENDING))
                       .values(status=kinds.ACCEPTED, accepted_at=utcnow()))
    fulfilment.check_fulfilment(batch_ids)
    db.session.commit()


def recovered_major_incident(operator, manager, reviewer, *, detected_at: datetime) -> int:
    """A major incident recovered 3 h after ``detected_at``, responsibility set and its analysis
    report submitted: everything closure asks for except, so far, the formal notice."""
    from app.incidents import service as incidents
    from app.reports import service as reports

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
