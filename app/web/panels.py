"""What the incident page's side panels and the board's deadline column show.

Each panel reads its domain through that domain's service functions only (deadlines,
notifier, compensation, reports); this module adds nothing but wording for a person:
Chinese labels, durations, and which panel applies in which state.
"""
from __future__ import annotations

from typing import Any

from flask import current_app

from app.auth import permissions
from app.auth.models import User
from app.clock import utcnow
from app.compensation import accountability, ledger
from app.compensation.models import VersionStatus
from app.compensation.money import fen_to_yuan
from app.errors import TransitionNotAllowed
from app.incidents.models import Incident, Status
from app.outbound import service as outbound_reports
from app.notify.kinds import NoticeKind
from app.notify import service as notify_service
from app.notify.statuses import OutboxStatus
from app.phones import mask
from app.policy import current_policy
from app.reports import service as report_service
from app.reports.models import ReportState
from app.scheduling import service as deadline_service
from app.scheduling.models import DeadlineState
from app.web.timefmt import duration_text

COMPENSATION_FIRST_ROWS = 5
REPORT_FORMATS = {"html": "HTML", "md": "Markdown", "pdf": "PDF"}
# The progress-update SMS shown before anything is typed, so the template's own length counts.
SMS_PREVIEW_PLACEHOLDER = "（进展内容）"


def _minutes(seconds: int | None) -> int:
    return max(0, int(seconds or 0) // 60)


def _remaining_text(row: dict[str, Any]) -> str:
    """"剩余 1小时05分", "已超时 12分", "迟 12分完成" — the time left, or how late."""
    if row["state"] == DeadlineState.pending:
        if row["seconds_left"] is not None and row["seconds_left"] < 0:
            return f"已逾期 {duration_text(_minutes(-row['seconds_left']))}"
        return f"剩余 {duration_text(_minutes(row['seconds_left']))}"
    if row["state"] == DeadlineState.breached:
        late = duration_text(_minutes(row["seconds_late"]))
        return f"迟 {late}完成" if row["met_at"] else f"已超时 {late}"
    return ""


# --- deadlines -----------------------------------------------------------------------------

def deadlines_panel(incident: Incident) -> list[dict[str, Any]]:
    """Every deadline of the incident with its state label and time left / lateness."""
    return describe_deadline_rows(deadline_service.deadlines_for_api(incident))


def outbound_panel(incident: Incident) -> dict[str, Any]:
    """The 上报 and regulator reports' delivery state, and the local receiver's page when it is the target."""
    settings = current_app.extensions["noc_outbound_settings"]
    return {"deliveries": [outbound_reports.describe(row) for row in outbound_reports.deliveries_of(incident.id)],
            "receiver_url": settings.receiver_url + "/" if settings.uses_local_receiver else None}


def describe_deadline_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deadline rows (an incident's or a complaint's) with their state label and time left / lateness."""
    return [{**row, "state_label": DeadlineState.label_of(row["state"]),
             "remaining": _remaining_text(row)} for row in rows]


def board_deadline(incident: Incident) -> dict[str, Any]:
    """The board's cell: the next pending deadline with the time left; for an open incident each
    breached obligation still undone ("上报服务调度中心 已超时 12分"). A closed or cancelled incident
    raises no alarm: its breaches are history (``breached`` only)."""
    rows = deadline_service.deadlines_for_api(incident)
    upcoming = deadline_service.next_due_for_api(incident)
    breached = [row for row in rows if row["state"] == DeadlineState.breached]
    cell: dict[str, Any] = {"next": upcoming, "breached": bool(breached), "overdue": False, "remaining": "",
                            "alarms": []}
    if upcoming is not None:
        cell["overdue"] = upcoming["seconds_left"] < 0
        cell["remaining"] = _remaining_text({**upcoming, "state": DeadlineState.pending})
    if incident.is_open:
        cell["alarms"] = [{"label": row["label"], "due_at": row["due_at"],
                           "text": f"{row['label']} 已超时 {duration_text(_minutes(row['seconds_late']))}"}
                          for row in breached if row["met_at"] is None]
    return cell


# --- notices ---------------------------------------------------------------------------------

def notices_panel(incident: Incident, user: User) -> dict[str, Any]:
    """Counts by kind and delivery status, each batch's projected finish vs its deadline, and
    whether this user may queue the formal notice (正式通知) now."""
    summary = notify_service.notification_summary(incident)
    counts = summary["counts"]
    statuses = [s.value for s in OutboxStatus if any(s in by_status for by_status in counts.values())]
    kind_order = {kind: index for index, kind in enumerate(NoticeKind)}
    rows = [{"kind": kind, "label": NoticeKind.label_of(kind), "by_status": by_status,
             "total": sum(by_status.values())}
            for kind, by_status in sorted(counts.items(), key=lambda item: kind_order.get(item[0], len(kind_order)))]
    formal_queued = any(batch["kind"] == NoticeKind.formal for batch in summary["notices"])
    formal_due = incident.major and incident.status in (Status.recovered.value, Status.closed.value)
    return {
        "rows": rows, "statuses": statuses, "status_labels": OutboxStatus.labels(),
        "batches": summary["notices"], "formal_queued": formal_queued,
        "formal_form_shown": bool(formal_due and not formal_queued and permissions.may(user, "queue_notice")),
        "formal_owed": bool(formal_due and not formal_queued),
    }


def sms_preview(incident_id: int, message: str) -> dict[str, Any]:
    """The progress-update SMS as subscribers would get it, and its segment count."""
    return notify_service.preview(NoticeKind.progress, "zh-CN", incident_id,
                                  {"message": message.strip() or SMS_PREVIEW_PLACEHOLDER}, None)


# --- compensation ----------------------------------------------------------------------------

def compensation_panel(incident: Incident, user: User) -> dict[str, Any] | None:
    """The preview (after recovery) or the final ledger (after closure): header, totals, first
    rows with masked phones, the disputes and the rectification items, and what this user may
    do with them. None while the outage still runs."""
    if incident.status not in (Status.recovered.value, Status.closed.value):
        return None
    try:
        page = ledger.compensation_page(incident.id, 1, COMPENSATION_FIRST_ROWS)
    except TransitionNotAllowed:
        return None
    rows = [{"subscriber_id": row.subscriber_id, "phone": mask(row.phone), "outage_minutes": row.outage_minutes,
             "economic_credit": fen_to_yuan(row.economic_credit_fen), "data_credit_gb": row.data_credit_gb}
            for row in page["items"]]
    today = utcnow().astimezone(current_policy().zone).date()
    rectifications = [{"item": item, "state": accountability.rectification_state(item, today)}
                      for item in accountability.list_rectifications(incident.id)]
    return {**{k: v for k, v in page.items() if k != "items"}, "rows": rows, "rectifications": rectifications,
            "disputes": ledger.disputes_of(incident.id) if page["final"] else [],
            "may_dispute": page["final"] and permissions.may(user, "dispute_compensation"),
            "may_decide": permissions.may(user, "approve_compensation"),
            "may_rectify": permissions.may(user, "manage_rectifications"),
            "dispute_status_labels": VersionStatus.labels()}


# --- analysis report -------------------------------------------------------------------------

def report_panel(incident: Incident) -> dict[str, Any] | None:
    """The report's workflow state and its formats, once the incident is recovered."""
    if incident.status not in report_service.REPORTABLE_STATES:
        return None
    report = report_service.report_of(incident.id)
    state = ReportState(report.state) if report else ReportState.draft
    return {"state": state.value, "state_label": state.label, "formats": REPORT_FORMATS,
            "submitted_at": report.submitted_at if report else None,
            "approved_at": report.approved_at if report else None}


def report_work(report: dict[str, Any] | None, user: User) -> str | None:
    """What this user can do with the report now (the action card's link), or None."""
    if report is None:
        return None
    if report["state"] == ReportState.draft.value:
        if permissions.may(user, "edit_analysis_report"):
            return "编写分析报告"
        if permissions.may(user, "submit_analysis_report"):
            return "提交分析报告"
    if report["state"] == ReportState.submitted.value and permissions.may(user, "approve_analysis_report"):
        return "审核分析报告"
    return None
