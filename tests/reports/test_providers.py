"""Sections whose domain is not merged say so plainly; once a domain is wired its data flows in."""
from __future__ import annotations

import sys
import types
from datetime import timedelta

import pytest
from freezegun import freeze_time

from app.reports import providers
from tests.reports.worked import AFTER, DETECTED, RECOVERED

REPORT = "/incidents/{}/analysis-report"


def test_without_the_other_domains_every_provider_answers_none(worked_incident):
    from app.incidents.service import get_incident

    incident = get_incident(worked_incident)
    for name in ("deadline_rows", "notice_counts", "notice_delivery_series", "satisfaction", "compensation_totals",
                 "rectification_items"):
        assert getattr(providers, name)(incident) is None, name
    assert providers.compensation_paid_fen([incident.id]) is None


@freeze_time(AFTER)
def test_missing_sections_say_no_data_with_the_reason(worked_incident, operator_api):
    doc = operator_api.get(REPORT.format(worked_incident)).json
    sections = {s["key"]: s for s in doc["sections"]}
    assert "通知模块未接入" in sections["notices"]["missing"]
    assert "补偿模块未接入" in sections["compensation"]["missing"]
    assert "通知模块未接入" in sections["satisfaction"]["missing"]
    assert sections["measures"]["data"]["rectification_items"] is None
    html = operator_api.get(REPORT.format(worked_incident) + "?format=html").get_data(as_text=True)
    assert html.count("暂无数据") >= 5 and "补偿模块未接入" in html and "整改跟踪模块未接入" in html
    assert "通知送达曲线" not in html  # no curve without deliveries


@pytest.fixture
def wired_scheduler(monkeypatch):
    """A stand-in scheduling module at the path the lead wires, answering the documented contract."""
    module = types.ModuleType("tests_reports_fake_scheduling")

    def deadline_rows(incident):
        return [
            {"kind": "report", "due_at": DETECTED + timedelta(minutes=15), "state": "breached",
             "met_at": DETECTED + timedelta(minutes=40), "breached_at": DETECTED + timedelta(minutes=15)},
            {"kind": "recovery_notice", "due_at": RECOVERED + timedelta(hours=2), "state": "met",
             "met_at": RECOVERED + timedelta(minutes=4), "breached_at": None},
            {"kind": "recovery", "due_at": DETECTED + timedelta(hours=12), "state": "met",
             "met_at": RECOVERED, "breached_at": None},
        ]

    module.deadline_rows = deadline_rows
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(providers._SOURCES, "deadline_rows", (module.__name__, "deadline_rows"))


@freeze_time(AFTER)
def test_the_deadline_table_is_the_authority_once_wired(worked_incident, operator_api, wired_scheduler):
    doc = operator_api.get(REPORT.format(worked_incident)).json
    deadlines = next(s for s in doc["sections"] if s["key"] == "deadlines")["data"]
    assert deadlines["source"] == "deadlines" and deadlines["source_note"] is None
    assert [(r["kind"], r["state"], r["late_minutes"]) for r in deadlines["rows"]] == [
        ("report", "breached", 25), ("recovery", "met", None), ("recovery_notice", "met", None)]
    html = operator_api.get(REPORT.format(worked_incident) + "?format=html").get_data(as_text=True)
    assert "时限表尚未接入" not in html and html.count('class="breach"') == 1
