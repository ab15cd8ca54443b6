"""The other domains' report feeds answer for a real incident; an incident without deadline rows
falls back to its own times."""
from __future__ import annotations

from freezegun import freeze_time
from sqlalchemy import delete, select

from app.extensions import db
from app.incidents.service import get_incident
from app.oncall.models import OncallEscalation
from app.reports import providers
from app.scheduling.models import Deadline
from tests.reports.worked import AFTER

REPORT = "/incidents/{}/analysis-report"


@freeze_time(AFTER)
def test_the_report_feeds_answer_for_a_real_incident(worked_incident):
    incident = get_incident(worked_incident)
    assert {r["kind"] for r in providers.deadline_rows(incident)} == {
        "report", "emergency_response", "response", "recovery", "recovery_notice", "formal_notice", "analysis_report"}
    assert providers.compensation_totals(incident)["final"] is False
    assert providers.rectification_items(incident) == []
    assert providers.compensation_paid_fen([incident.id]) == 0  # nothing final before closure


@freeze_time(AFTER)
def test_an_incident_without_deadline_rows_falls_back_to_its_own_times(worked_incident, operator_api):
    """An incident declared before the deadline table existed has no rows: the report computes the
    windows from the incident's timestamps, labelled as such, with the same outcomes."""
    rows = select(Deadline.id).where(Deadline.incident_id == worked_incident)
    db.session.execute(delete(OncallEscalation).where(OncallEscalation.deadline_id.in_(rows)))  # their escalation chains first
    db.session.execute(delete(Deadline).where(Deadline.incident_id == worked_incident))
    db.session.commit()
    deadlines = next(s for s in operator_api.get(REPORT.format(worked_incident)).json["sections"]
                     if s["key"] == "deadlines")["data"]
    assert deadlines["source"] == "incident_timestamps" and deadlines["source_note"]
    rows = {r["kind"]: r for r in deadlines["rows"]}
    assert (rows["report"]["state"], rows["report"]["late_minutes"]) == ("breached", 25)
    assert (rows["emergency_response"]["state"], rows["emergency_response"]["late_minutes"]) == ("breached", 30)
    assert rows["recovery"]["state"] == "met" and rows["analysis_report"]["state"] == "pending"
    assert rows["recovery_notice"]["state"] == "unknown"  # only the notifier could say
