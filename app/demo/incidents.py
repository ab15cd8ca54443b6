"""The demo's incidents: one in every state, driven only through the real service functions.

Nothing here writes an incident, deadline, notice or ledger row itself: each step is the
call an operator's click would make, so the incident flows create the deadlines, queue the
notices, record breaches and finalise the ledger exactly as in production. Only
``detected_at`` is set in the past (the API allows it), which is what makes some
deadlines already late — the scheduler judges those that are still pending when it starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from app.auth.models import User
from app.clock import utcnow
from app.compensation import accountability, ledger
from app.compensation.models import CompensationEntry, of_incident
from app.extensions import db
from app.incidents import service
from app.incidents.models import Incident
from app.incidents.service import ResponsibilityEntry
from app.reports import service as reports


@dataclass(frozen=True)
class Staff:
    operator: User
    duty_manager: User
    reviewer: User


def _ago(minutes: int):
    return utcnow() - timedelta(minutes=minutes)


def _soon(minutes: int):
    return utcnow() + timedelta(minutes=minutes)


def _report_and_respond(incident: Incident, staff: Staff, *, fault_type: str, scope: str, responder: str) -> None:
    service.report(incident.id, staff.operator, fault_type=fault_type, scope_summary=scope,
                   estimated_recovery_at=_soon(120))
    service.respond(incident.id, staff.operator, responder=responder, emergency_response=incident.major)


def declared_just_now(staff: Staff) -> Incident:
    return service.declare(staff.operator, title="温州鹿城区部分宽带用户无法拨号", services=["broadband"], regions=["鹿城区"],
                           description="10086 热线集中反映 PPPoE 拨号失败，正在核实范围。", detected_at=_ago(5))


def declared_report_overdue(staff: Staff) -> Incident:
    # Detected 40 minutes ago and still not reported: the 15-minute report window has passed.
    return service.declare(staff.operator, title="嘉兴 IPTV 直播频道卡顿", services=["iptv"], regions=["嘉兴"],
                           description="多个直播频道花屏、卡顿，点播正常。", detected_at=_ago(40))


def reported_late(staff: Staff) -> Incident:
    # Reported 25 minutes after detection: the report deadline is recorded as breached (met late).
    incident = service.declare(staff.operator, title="绍兴柯桥区移动数据速率下降", services=["mobile_data"],
                               regions=["柯桥区"], description="4G/5G 下载速率明显下降，疑似传输拥塞。", detected_at=_ago(25))
    return service.report(incident.id, staff.operator, fault_type="传输拥塞", scope_summary="绍兴柯桥区移动数据用户",
                          estimated_recovery_at=_soon(90))


def major_responding(staff: Staff) -> Incident:
    # mobile_voice is a key service: proposed level 1, hence a major interruption with emergency response.
    incident = service.declare(staff.operator, title="杭州核心网语音业务中断", services=["mobile_voice"], regions=["杭州"],
                               description="杭州地区移动语音呼叫大面积失败，MSC 告警。", detected_at=_ago(10))
    _report_and_respond(incident, staff, fault_type="核心网设备故障", scope="杭州全市移动语音用户",
                        responder="核心网维护中心 陈工")
    service.post_update(incident.id, staff.operator, message="已定位为 MSC 板卡故障，正在倒换备用板，预计一小时内恢复。",
                        notify_subscribers=True)
    return service.get_incident(incident.id)


def recovered(staff: Staff) -> Incident:
    incident = service.declare(staff.operator, title="宁波北仑区光缆中断导致宽带及 IPTV 中断",
                               services=["broadband", "iptv"], regions=["宁波"],
                               description="市政施工挖断主干光缆。", detected_at=_ago(150))
    _report_and_respond(incident, staff, fault_type="光缆中断", scope="宁波北仑区宽带、IPTV 用户", responder="宁波线路维护班组")
    # Recovery queues the recovery notices (恢复通知) and the satisfaction survey through the notifier.
    return service.recover(incident.id, staff.operator, summary="光缆熔接完成，业务恢复正常。")


def closed(staff: Staff) -> Incident:
    """The full story: late recovery (×2 compensation), responsibility, approved report, ledger, 整改."""
    incident = service.declare(staff.operator, title="杭州、嘉兴移动数据基站退服", services=["mobile_data", "broadband"],
                               regions=["杭州", "嘉兴"], description="市电中断后部分基站蓄电池耗尽退服。",
                               detected_at=_ago(10 * 60))
    _report_and_respond(incident, staff, fault_type="基站退服", scope="杭州、嘉兴部分移动数据及宽带用户",
                        responder="无线网络优化中心")
    service.recover(incident.id, staff.operator, summary="市电恢复，基站全部恢复服务。")
    service.set_responsibility(incident.id, staff.duty_manager, [
        ResponsibilityEntry("technical", "hardware_aging", "无线网络优化中心", 70),
        ResponsibilityEntry("external", "power_outage", "国网杭州供电公司", 30),
    ])
    accountability.issue_responsibility_notice(incident.id, staff.duty_manager, message="请各单位于一周内提交整改计划。")
    reports.edit(incident.id, staff.reviewer, {
        "preventive_measures": "对蓄电池组开展全面核容测试，老化电池三个月内更换；重点站点配置移动油机。",
        "lessons": "市电中断后的蓄电池续航低于设计值，未能覆盖抢修时间。",
    })
    reports.edit(incident.id, staff.reviewer, {"rectification_notes": "无线网络优化中心负责电池更换，月底前完成一半站点。"})
    reports.submit(incident.id, staff.duty_manager)
    reports.approve(incident.id, staff.reviewer)
    accountability.add_rectification(incident.id, staff.duty_manager, title="更换老化蓄电池组", owner="无线网络优化中心",
                                     due_date=(utcnow() + timedelta(days=30)).date(),
                                     description="杭州、嘉兴两地 120 个基站的蓄电池核容与更换。")
    # Closing finalises the compensation ledger and queues the compensation notices.
    service.close(incident.id, staff.duty_manager)
    _one_dispute(incident, staff)
    return service.get_incident(incident.id)


def _one_dispute(incident: Incident, staff: Staff) -> None:
    """A subscriber disputes the credit; the plan awaits the duty manager's decision."""
    entry_id = db.session.scalar(select(CompensationEntry.id).where(of_incident(incident.id))
                                 .order_by(CompensationEntry.economic_credit_fen.desc()).limit(1))
    if entry_id is None:
        return
    ledger.dispute(entry_id, staff.operator, reason="用户称家中宽带中断超过 12 小时，要求按实际中断时长补偿。",
                   economic_credit_fen=3000, data_credit_gb=5)


def cancelled(staff: Staff) -> Incident:
    incident = service.declare(staff.operator, title="湖州移动数据告警（疑似误报）", services=["mobile_data"], regions=["湖州"],
                               description="网管告警显示数据业务附着成功率下降。", detected_at=_ago(30))
    return service.cancel(incident.id, staff.operator, reason="告警为网管采集异常，业务实际正常。")


SCENARIO = (declared_just_now, declared_report_overdue, reported_late, major_responding, recovered, closed, cancelled)


def create_incidents(staff: Staff) -> list[Incident]:
    return [step(staff) for step in SCENARIO]
