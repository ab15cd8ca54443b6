"""One builder per section of the 故障分析报告 (RULES §7): (incident, policy) → Section.

A section holds plain data for the templates (already formatted for reading, plus the raw
figures for JSON). A section whose domain data does not exist says so: ``missing`` holds
the reason and the templates print "暂无数据" with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.compensation.models import RectificationState
from app.complaints.models import Category as ComplaintCategory
from app.incidents.causes import CAUSES, CauseCategory
from app.incidents.models import Incident, Level, Status, TimelineEvent
from app.incidents.timeline_kinds import EventKind
from app.incidents.service import (
    affected_count,
    outage_minutes_so_far,
    regulator_reportable,
    timeline_of,
    user_minutes,
)
from app.notify.kinds import NoticeKind
from app.policy import Policy
from app.service_names import service_name
from app.reports import charts, compliance, providers
from app.reports.formatting import duration, local_time, thousands, user_hours, yuan
from app.scheduling.models import DeadlineState



@dataclass
class Section:
    key: str
    title_zh: str
    title_en: str
    data: dict[str, Any] = field(default_factory=dict)
    missing: str | None = None     # why there is no data ("暂无数据" + this reason)
    svg: str | None = None         # a server-drawn chart, when the section has one


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def overview(incident: Incident, policy: Policy) -> Section:
    zone = policy.zone
    affected = affected_count(incident, policy)
    minutes = user_minutes(incident, policy)
    times = [
        ("故障发生", "detected", incident.detected_at),
        ("上报调度中心", "reported", incident.reported_at),
        ("响应", "responded", incident.responded_at),
        ("启动应急响应", "emergency response", incident.emergency_response_at),
        ("恢复", "recovered", incident.recovered_at),
        ("报告提交", "report submitted", incident.analysis_report_submitted_at),
        ("闭环", "closed", incident.closed_at),
    ]
    return Section("overview", "概况", "Overview", data={
        "number": incident.number,
        "title": incident.title,
        "level": incident.level,
        "level_zh": Level(incident.level).label,
        "major": incident.major,
        "major_zh": "是" if incident.major else "否",
        "major_reason": incident.major_reason,
        "status": incident.status,
        "status_zh": Status(incident.status).label,
        "services": list(incident.services),
        "services_zh": [service_name(code) for code in incident.services],
        "regions": list(incident.regions),
        "affected_subscribers": affected,
        "affected_subscribers_text": thousands(affected),
        "user_minutes": minutes,
        "user_minutes_text": thousands(minutes),
        "outage_minutes": outage_minutes_so_far(incident),
        "outage_text": duration(outage_minutes_so_far(incident)),
        "responder": incident.responder,
        "key_times": [{"label_zh": zh, "label_en": en, "at": at.isoformat() if at else None,
                       "local": local_time(at, zone)} for zh, en, at in times if at is not None],
        "drill": incident.drill,   # 演练: the report says so at its head
        "plans": _cited_plans(incident),
    })


def _cited_plans(incident: Incident) -> list[dict[str, Any]]:
    """The emergency plans (应急预案) the incident cites: title and when cited."""
    from app.plans.service import plans_of

    return [{"id": plan.id, "title": plan.title, "cited_at": cited_at.isoformat()}
            for plan, cited_at in plans_of(incident.id)]


def _event_line(event: TimelineEvent, zone) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "local": local_time(event.at, zone),
        "kind": event.kind,
        "kind_zh": EventKind.label_of(event.kind),
        "actor": event.actor_name,
        "message": event.message,
    }


def timeline(incident: Incident, policy: Policy) -> Section:
    events = [_event_line(e, policy.zone) for e in timeline_of(incident.id)]
    return Section("timeline", "处理过程", "Timeline", data={"events": events})


def cause(incident: Incident, policy: Policy) -> Section:
    operator_categories = set(policy.compensation["operator_categories"])
    entries = [{
        "category": r.category,
        "category_zh": CauseCategory(r.category).label,
        "sub_cause": r.sub_cause,
        "sub_cause_zh": CAUSES[r.category][r.sub_cause],
        "party": r.party,
        "share": r.share,
    } for r in incident.responsibilities]
    data = {
        "fault_type": incident.fault_type,
        "description": incident.description,
        "recovery_summary": incident.recovery_summary,
        "entries": entries,
        "operator_share": sum(e["share"] for e in entries if e["category"] in operator_categories),
    }
    missing = None if entries else "尚未认定原因与责任 (cause and responsibility not recorded yet)"
    return Section("cause", "故障原因与责任认定", "Cause and responsibility", data=data, missing=missing)


def scope(incident: Incident, policy: Policy) -> Section:
    affected = affected_count(incident, policy)
    minutes = user_minutes(incident, policy)
    outage = outage_minutes_so_far(incident)
    return Section("scope", "影响范围", "Scope and impact", data={
        "services": list(incident.services),
        "services_zh": [service_name(code) for code in incident.services],
        "regions": list(incident.regions),
        "scope_summary": incident.scope_summary,
        "affected_subscribers": affected,
        "affected_subscribers_text": thousands(affected),
        "outage_minutes": outage,
        "outage_text": duration(outage),
        "user_minutes": minutes,
        "user_minutes_text": thousands(minutes),
        "user_hours_text": user_hours(minutes),
        "fixed_at_recovery": incident.user_minutes_at_recovery is not None,
        "regulator_reportable": regulator_reportable(incident, policy, affected=affected),
    })


def deadlines(incident: Incident, policy: Policy) -> Section:
    source, rows = compliance.outcomes(incident, policy)
    zone = policy.zone
    data = {
        "source": source,
        "source_note": compliance.FALLBACK_NOTE if source == compliance.SOURCE_FALLBACK else None,
        "rows": [{
            "kind": r.kind, "label_zh": r.label_zh, "label_en": r.label_en,
            "window_minutes": r.window_minutes, "window_text": duration(r.window_minutes),
            "due_at": r.due_at.isoformat(), "due_local": local_time(r.due_at, zone),
            "done_at": r.done_at.isoformat() if r.done_at else None, "done_local": local_time(r.done_at, zone),
            "state": r.state, "state_zh": r.state_zh,
            "late_minutes": r.late_minutes, "late_text": duration(r.late_minutes) if r.late_minutes else "",
        } for r in rows],
        "breached": sum(1 for r in rows if r.state == DeadlineState.breached),
        "met": sum(1 for r in rows if r.state == DeadlineState.met),
        "receiver_note": _receiver_note(incident, rows, zone),
    }
    return Section("deadlines", "时限达标情况", "Compliance with every window", data=data,
                   svg=charts.time_bar(incident, rows, zone))


def _receiver_note(incident: Incident, rows: list[compliance.WindowOutcome], zone) -> str | None:
    """Why the report window was breached when 上报 was started in time and the dispatch centre's
    receiver did not answer (RULES §9: its acknowledgement, not the button, meets the window)."""
    report = next((r for r in rows if r.kind == "report"), None)
    delivery = providers.dispatch_delivery(incident)
    if report is None or report.state != DeadlineState.breached or delivery is None:
        return None
    if delivery["queued_at"] > report.due_at or delivery["first_error_at"] is None \
            or delivery["first_error_at"] > report.due_at:
        return None  # started late, or never tried before the deadline: not the receiver's doing
    answered = (f"调度中心于 {local_time(delivery['acknowledged_at'], zone)} 确认接收" if delivery["acknowledged_at"]
                else "调度中心至今未确认接收")
    return (f"上报超时原因：调度中心接收端不可达。上报于 {local_time(delivery['queued_at'], zone)} 发起（在时限内），"
            f"共发送 {delivery['attempts']} 次，失败 {delivery['failures']} 次；"
            f"首次错误 {delivery['first_error']}（{local_time(delivery['first_error_at'], zone)}），"
            f"末次错误 {delivery['last_error']}（{local_time(delivery['last_error_at'], zone)}）；{answered}。"
            " (The report was started in time; the breach is due to the dispatch centre's receiver being unreachable.)")


def notices(incident: Incident, policy: Policy) -> Section:
    counts = providers.notice_counts(incident)
    rows = [{**c, "kind_zh": NoticeKind.label_of(c["kind"])} for c in counts]
    totals = {key: sum(r[key] for r in rows) for key in ("sent", "delivered", "failed", "opted_out")}
    _, outcomes = compliance.outcomes(incident, policy)
    windows = [{"kind": o.kind, "label_zh": o.label_zh, "state": o.state, "state_zh": o.state_zh,
                "late_text": duration(o.late_minutes) if o.late_minutes else ""}
               for o in outcomes if o.kind in ("recovery_notice", "formal_notice")]
    series = providers.notice_delivery_series(incident)
    return Section("notices", "用户通知", "Notices to subscribers",
                   data={"rows": rows, "totals": totals, "windows": windows,
                         "status_lookups": providers.status_lookups(incident)},
                   missing=None if rows else "尚未发送任何通知 (no notice sent)",
                   svg=charts.delivery_curve(series, incident.recovered_at, policy.zone, NoticeKind.labels()) if series else None)


def compensation(incident: Incident, policy: Policy) -> Section:
    totals = providers.compensation_totals(incident)
    return Section("compensation", "补偿情况", "Compensation", data={
        **totals,
        "final_zh": "最终台账" if totals["final"] else "闭环前预览",
        "economic_credit_text": yuan(totals["economic_credit_fen"]),
        "by_kind": [
            {"kind": "economic", "label_zh": "经济补偿", "amount_text": f"¥{yuan(totals['economic_credit_fen'])}"},
            {"kind": "data", "label_zh": "服务补偿（流量）", "amount_text": f"{totals['data_credit_gb']} GB"},
        ],
    })


def measures(incident: Incident, policy: Policy, text: dict[str, str] | None = None) -> Section:
    """后续预防措施 / 整改: the reviewer's text (latest version) and the tracked rectification items."""
    text = text or {}
    rows = [{
        **item,
        # ISO text like every other time in the JSON (a bare datetime would dump as an HTTP date).
        "due_at": _iso(item.get("due_at")), "done_at": _iso(item.get("done_at")),
        "state_zh": RectificationState.label_of(item["state"]),
        "due_local": local_time(item.get("due_at"), policy.zone),
        "done_local": local_time(item.get("done_at"), policy.zone),
    } for item in providers.rectification_items(incident)]
    return Section("measures", "后续预防措施与整改", "Preventive measures and rectification", data={
        "preventive_measures": text.get("preventive_measures", ""),
        "lessons": text.get("lessons", ""),
        "rectification_notes": text.get("rectification_notes", ""),
        "rectification_items": rows,
    })


def satisfaction(incident: Incident, policy: Policy) -> Section:
    result = providers.satisfaction(incident)
    if result is None or not result.get("replies"):
        return Section("satisfaction", "满意度调查", "Satisfaction", missing="尚无调查回复 (no survey replies yet)")
    average = result.get("average")
    return Section("satisfaction", "满意度调查", "Satisfaction", data={
        **result,
        "average_text": "—" if average is None else f"{average:.2f}",
        "reply_rate_text": f"{100 * result['replies'] / result['surveyed']:.1f}%" if result["surveyed"] else "—",
        "distribution_rows": [{"score": s, "replies": result["distribution"].get(s, 0)} for s in range(1, 6)],
    })




def complaints(incident: Incident, policy: Policy) -> Section:
    """投诉情况: the complaints the incident drew (RULES §8)."""
    result = providers.incident_complaints(incident)
    decided = result["feedback_met"] + result["feedback_breached"]
    return Section("complaints", "投诉情况", "Complaints", data={
        **result,
        "category_rows": [{"label": ComplaintCategory.label_of(k), "count": n}
                          for k, n in sorted(result["by_category"].items())],
        "feedback_on_time_text": f"{100 * result['feedback_met'] / decided:.1f}%" if decided else "—",
        "satisfaction_text": "—" if result["satisfaction"] is None else f"{result['satisfaction']:.2f}",
    })


BUILDERS = (overview, timeline, cause, scope, deadlines, notices, compensation, measures, satisfaction, complaints)
