"""Sections whose domain is not installed say so plainly; the wired domains' data flows in."""
from __future__ import annotations

import importlib

import pytest
from freezegun import freeze_time
from sqlalchemy import delete

from app.extensions import db
from app.incidents.service import get_incident
from app.reports import providers
from app.scheduling.models import Deadline
from tests.reports.worked import AFTER

REPORT = "/incidents/{}/analysis-report"


def test_the_absent_module_really_cannot_be_imported():
    # The fixture's premise: if this module ever appeared, the "absent" tests would test nothing.
    with pytest.raises(ImportError):
        importlib.import_module("tests.reports.no_such_domain_module")


def test_without_the_other_domains_every_provider_answers_none(worked_incident, domains_absent):
    incident = get_incident(worked_incident)
    for name in ("deadline_rows", "notice_counts", "notice_delivery_series", "satisfaction", "compensation_totals",
                 "rectification_items"):
        assert getattr(providers, name)(incident) is None, name
    assert providers.compensation_paid_fen([incident.id]) is None


@freeze_time(AFTER)
def test_missing_sections_say_no_data_with_the_reason(worked_incident, operator_api, domains_absent):
    doc = operator_api.get(REPORT.format(worked_incident)).json
    sections = {s["key"]: s for s in doc["sections"]}
    assert "通知模块未接入" in sections["notices"]["missing"]
    assert "补偿模块未接入" in sections["compensation"]["missing"]
    assert "通知模块未接入" in sections["satisfaction"]["missing"]
    assert sections["measures"]["data"]["rectification_items"] is None
    # Without the deadline table the windows are computed from the incident's own times, and say so.
    deadlines = sections["deadlines"]["data"]
    assert deadlines["source"] == "incident_timestamps" and "时限表尚未接入" in deadlines["source_note"]
    html = operator_api.get(REPORT.format(worked_incident) + "?format=html").get_data(as_text=True)
    assert html.count("暂无数据") >= 5 and "补偿模块未接入" in html and "整改跟踪模块未接入" in html
    assert "时限表尚未接入" in html
    assert "通知送达曲线" not in html  # no curve without deliveries


@freeze_time(AFTER)
def test_the_wired_domains_answer_for_a_real_incident(worked_incident):
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
