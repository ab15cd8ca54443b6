"""The review workflow (RULES §7): edit → submit → approve. Each function is one unit of work.

Edits never overwrite: each one appends a version row (the table refuses UPDATE and
DELETE), and the report row only moves its pointer and state forward.
"""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.clock import utcnow
from app.errors import Forbidden, InvalidInput, NotFound, TransitionNotAllowed
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import Incident, Status
from app.incidents.timeline_kinds import EventKind
from app.models import record_policy_version
from app.policy import current_policy
from app.reports.models import AnalysisReport, AnalysisReportVersion, ReportState
from app.scheduling import service as deadlines
from app.scheduling.models import DeadlineKind
from app.sql import commit_or_conflict
from app.transactions import retry_on_conflict

FREE_TEXT_FIELDS = ("preventive_measures", "lessons", "rectification_notes")
REPORTABLE_STATES = (Status.recovered.value, Status.closed.value)


def require_recovered(incident: Incident, action: str) -> None:
    """A report exists only once the service is restored (its window starts at recovery)."""
    if incident.status not in REPORTABLE_STATES:
        raise TransitionNotAllowed(action, incident.status,
                                   f"故障尚未恢复，不能{'查看' if action == 'view' else '处理'}分析报告 "
                                   f"(the analysis report is available after recovery; state is '{incident.status}')")


def report_of(incident_id: int) -> AnalysisReport | None:
    return db.session.scalar(select(AnalysisReport).where(AnalysisReport.incident_id == incident_id))


def _report_for_update(incident: Incident) -> AnalysisReport:
    report = db.session.scalar(select(AnalysisReport).where(AnalysisReport.incident_id == incident.id).with_for_update())
    if report is None:
        report = AnalysisReport(incident_id=incident.id, state=ReportState.draft.value, latest_version=0,
                                created_at=utcnow())
        db.session.add(report)
        db.session.flush()
    return report


def version_of(report: AnalysisReport | None, version: int | None = None) -> AnalysisReportVersion | None:
    """The given version (default the latest) of a report's free text; None before the first edit."""
    if report is None or report.latest_version == 0:
        if version not in (None, 0):
            raise NotFound(f"报告版本 {version} 不存在 (report version not found)", version=version)
        return None
    number = report.latest_version if version is None else version
    row = db.session.scalar(select(AnalysisReportVersion).where(
        AnalysisReportVersion.report_id == report.id, AnalysisReportVersion.version == number))
    if row is None:
        raise NotFound(f"报告版本 {number} 不存在 (report version not found)", version=number)
    return row


def free_text(row: AnalysisReportVersion | None) -> dict[str, str]:
    return {name: (getattr(row, name) if row else "") for name in FREE_TEXT_FIELDS}


def versions(incident_id: int) -> list[AnalysisReportVersion]:
    incidents.get_incident(incident_id)
    report = report_of(incident_id)
    if report is None:
        return []
    return list(db.session.scalars(select(AnalysisReportVersion).where(AnalysisReportVersion.report_id == report.id)
                                   .order_by(AnalysisReportVersion.version)))


def _commit() -> None:
    commit_or_conflict(("分析报告", "report"), action="edit")


@retry_on_conflict
def edit(incident_id: int, actor: User, changes: dict[str, str], base_version: int | None = None) -> AnalysisReportVersion:
    """Append a new version: the given free-text fields replaced, the others carried over."""
    incident = incidents.get_incident(incident_id, for_update=True)
    require_recovered(incident, "edit_report")
    if not any(name in changes for name in FREE_TEXT_FIELDS):
        raise InvalidInput("preventive_measures", "至少修改一个段落 (give at least one of " + ", ".join(FREE_TEXT_FIELDS) + ")")
    report = _report_for_update(incident)
    if report.state != ReportState.draft.value:
        raise TransitionNotAllowed("edit_report", report.state,
                                   f"报告已{'提交' if report.state == 'submitted' else '审核'}，不能再修改 "
                                   f"(the report is {report.state}; it can no longer be edited)")
    if base_version is not None and base_version != report.latest_version:
        raise TransitionNotAllowed("edit_report", "changed",
                                   f"报告已更新到第 {report.latest_version} 版，请基于最新版本修改 "
                                   f"(base_version {base_version} is stale; latest is {report.latest_version})",
                                   latest_version=report.latest_version)
    previous = free_text(version_of(report))
    now = utcnow()
    row = AnalysisReportVersion(
        report_id=report.id, version=report.latest_version + 1,
        **{name: changes.get(name, previous[name]) for name in FREE_TEXT_FIELDS},
        edited_by=actor.id, edited_by_name=actor.name, edited_at=now,
        policy_version=record_policy_version(current_policy()),
    )
    db.session.add(row)
    report.latest_version = row.version
    _commit()
    return row


@retry_on_conflict
def submit(incident_id: int, actor: User) -> AnalysisReport:
    """Submit to the dispatch center: freezes the latest version and meets the analysis_report window."""
    incident = incidents.get_incident(incident_id, for_update=True)
    if incident.status != Status.recovered.value:
        require_recovered(incident, "submit_report")
        raise TransitionNotAllowed("submit_report", incident.status)
    report = _report_for_update(incident)
    if report.state != ReportState.draft.value:
        raise TransitionNotAllowed("submit_report", report.state,
                                   f"报告已提交，不能重复提交 (the report is already {report.state})")
    text = free_text(version_of(report))
    if not text["preventive_measures"].strip():
        raise InvalidInput("preventive_measures", "提交前须填写后续预防措施 (preventive measures are required before submission)")
    now = utcnow()
    report.state = ReportState.submitted.value
    report.submitted_version = report.latest_version
    report.submitted_at = now
    report.submitted_by = actor.id
    incidents.mark_analysis_report_submitted(incident, actor, now)
    deadlines.fulfil(incident, DeadlineKind.analysis_report, now)
    _commit()
    return report


@retry_on_conflict
def approve(incident_id: int, actor: User) -> AnalysisReport:
    incident = incidents.get_incident(incident_id, for_update=True)
    require_recovered(incident, "approve_report")
    report = _report_for_update(incident)
    if report.state != ReportState.submitted.value:
        raise TransitionNotAllowed("approve_report", report.state,
                                   f"只能审核已提交的报告，当前为 {report.state} (only a submitted report can be approved)")
    if report.submitted_by == actor.id:
        raise Forbidden("提交报告者不能审核自己提交的报告 (whoever submitted the report may not approve it)",
                        submitted_by=actor.name)
    if incidents.formal_notice_unsent(incident):
        raise TransitionNotAllowed("approve_report", report.state,
                                   "重大服务中断的正式通知尚未发出，不能审核通过报告 "
                                   "(the formal notice of this major incident is unsent)", missing=["formal_notice"])
    now = utcnow()
    report.state = ReportState.approved.value
    report.approved_at = now
    report.approved_by = actor.id
    from app.incidents import timeline

    timeline.record(incident, EventKind.analysis_report_approved, actor=actor, message="故障分析报告已审核通过",
                    after={"approved_at": now.isoformat(), "version": report.submitted_version})
    _commit()
    return report
