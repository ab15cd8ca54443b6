"""Assemble the 故障分析报告 from its section builders, for one incident and one text version."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from app.clock import utcnow
from app.incidents.models import Incident
from app.policy import Policy
from app.reports import sections
from app.reports.formatting import local_time, zone_label
from app.reports.models import AnalysisReport, ReportState
from app.reports.service import free_text, report_of, version_of


@dataclass
class AnalysisReportDocument:
    incident_id: int
    number: str
    title: str
    state: str
    state_zh: str
    version: int                   # the free-text version shown (0: not edited yet)
    latest_version: int
    submitted_version: int | None
    submitted_at: datetime | None
    approved_at: datetime | None
    edited_by: str | None
    edited_at: datetime | None
    generated_at: datetime
    generated_local: str
    zone: str
    policy_version: str
    sections: list[sections.Section]

    def section(self, key: str) -> sections.Section:
        return next(s for s in self.sections if s.key == key)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("submitted_at", "approved_at", "edited_at", "generated_at"):
            data[key] = data[key].isoformat() if data[key] else None
        for section in data["sections"]:
            section.pop("svg", None)  # pictures belong to the HTML and PDF formats
        return data


def build(incident: Incident, policy: Policy, version: int | None = None) -> AnalysisReportDocument:
    report: AnalysisReport | None = report_of(incident.id)
    row = version_of(report, version)
    text = free_text(row)
    built = []
    for builder in sections.BUILDERS:
        built.append(builder(incident, policy, text) if builder is sections.measures else builder(incident, policy))
    now = utcnow()
    state = ReportState(report.state if report else ReportState.draft.value)
    return AnalysisReportDocument(
        incident_id=incident.id, number=incident.number, title=incident.title,
        state=state.value, state_zh=state.label,
        version=row.version if row else 0,
        latest_version=report.latest_version if report else 0,
        submitted_version=report.submitted_version if report else None,
        submitted_at=report.submitted_at if report else None,
        approved_at=report.approved_at if report else None,
        edited_by=row.edited_by_name if row else None,
        edited_at=row.edited_at if row else None,
        generated_at=now, generated_local=local_time(now, policy.zone), zone=zone_label(policy.zone, now),
        policy_version=policy.version, sections=built,
    )
