"""The cross-incident review: the figures a monthly service-quality review asks for."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from app.auth.models import Role
from app.reports import providers
from tests import factories
from tests.reports.worked import AFTER, DETECTED
from tests.factories import send_formal_notice

PERIOD = f"from={(DETECTED - timedelta(days=1)).isoformat()}&to={(DETECTED + timedelta(days=1)).isoformat()}"


@pytest.fixture
def second_incident(worked_incident, operator_api, manager_api):
    """A level 2 incident reported on time, still being handled; and a cancelled false alarm."""
    detected = DETECTED + timedelta(hours=4)
    with freeze_time(detected + timedelta(minutes=10)):
        incident = operator_api.post("/incidents", json={
            "title": "温州、台州语音质量下降", "services": ["fixed_voice"], "regions": ["温州", "台州"],
            "detected_at": detected.isoformat(), "estimated_recovery_at": (detected + timedelta(hours=3)).isoformat()}).json
        assert incident["level"] == 2
        operator_api.post(f"/incidents/{incident['id']}/report", json={"fault_type": "传输拥塞", "scope_summary": "两市"})
        factories.dispatch_acknowledges(incident["id"])   # the dispatch centre acknowledges at once
        operator_api.put(f"/incidents/{incident['id']}/responsibility", json=[
            {"category": "management", "sub_cause": "maintenance_lapse", "party": "运维部", "share": 60},
            {"category": "technical", "sub_cause": "software_anomaly", "party": "网络部", "share": 40}])
        alarm = operator_api.post("/incidents", json={"title": "误报", "services": ["mobile_data"], "regions": ["杭州"]}).json
        manager_api.post(f"/incidents/{alarm['id']}/cancel", json={"reason": "监控误报"})
    return incident["id"]


@freeze_time(AFTER)
def test_summary_counts_grades_causes_compliance_and_times(second_incident, operator_api):
    response = operator_api.get(f"/reports/summary?{PERIOD}")
    assert response.status_code == 200, response.json
    s = response.json
    assert s["incidents"] == 2 and s["cancelled"] == 1 and s["major"] == 1
    assert {g["level"]: g["count"] for g in s["by_grade"]} == {1: 0, 2: 1, 3: 1}
    assert {c["category"]: c["count"] for c in s["by_cause_category"]} == {
        "technical": 2, "management": 1, "external": 1, "human": 0}
    # From the deadline table. Worked incident: report and emergency response breached, response and
    # recovery met, the recovery/formal notices and the analysis report still pending. Second
    # incident (not major): report met at +10 min, response and recovery pending.
    windows = {c["kind"]: (c["met"], c["breached"], c["pending"], c["unknown"], c["rate"]) for c in s["compliance"]}
    assert windows == {
        "report": (1, 1, 0, 0, 0.5),
        "emergency_response": (0, 1, 0, 0, 0.0),
        "response": (1, 0, 1, 0, 1.0),
        "recovery": (1, 0, 1, 0, 1.0),
        "recovery_notice": (0, 0, 1, 0, None),
        "formal_notice": (0, 0, 1, 0, None),
        "analysis_report": (0, 0, 1, 0, None),
    }
    assert s["compliance_source"] == ["deadlines"] and s["compliance_note"] is None
    assert s["mean_minutes_to_report"] == pytest.approx((40 + 10) / 2)
    assert s["mean_minutes_to_respond"] == 60.0 and s["mean_minutes_to_recover"] == 180.0
    assert s["user_minutes"] == 540  # only the recovered incident's figure is fixed
    # Nothing is closed yet: no final ledger, nothing paid (a preview is not a payment).
    assert s["compensation_paid_fen"] == 0 and s["compensation_paid"] == "0.00"


def test_summary_pays_the_final_ledgers_current_figures(worked_incident, second_incident, operator_api, manager_api,
                                                        api_as):
    """Compensation paid = the closed incidents' final ledgers, each entry at its current (approved) figure."""
    worked = f"/incidents/{worked_incident}"
    closing = AFTER + timedelta(minutes=10)
    with freeze_time(closing):
        assert api_as(Role.reviewer).put(worked + "/analysis-report", json={"preventive_measures": "主控板冗余"}).status_code == 200
        assert manager_api.post(worked + "/analysis-report/submit").status_code == 200
        send_formal_notice(worked_incident)
        assert manager_api.post(worked + "/close").status_code == 200
        # Fees 58, 128 and 299 元 × 180 min / 60 / 720 h × 70% operator share, half-up: 17 + 37 + 87 fen.
        assert operator_api.get(f"/reports/summary?{PERIOD}").json["compensation_paid_fen"] == 17 + 37 + 87
        entry_id = operator_api.get(worked + "/compensation").json["items"][2]["entry_id"]
        operator_api.post(f"/compensation/{entry_id}/dispute",
                          json={"reason": "影响营业", "economic_credit": "5.00", "data_credit_gb": 1})
        assert manager_api.post(f"/compensation/{entry_id}/approve", json={}).status_code == 200
        s = operator_api.get(f"/reports/summary?{PERIOD}").json
    assert s["compensation_paid_fen"] == 17 + 37 + 500 and s["compensation_paid"] == "5.54"
    analysis = {c["kind"]: c for c in s["compliance"]}["analysis_report"]
    assert (analysis["met"], analysis["pending"], analysis["rate"]) == (1, 0, 1.0)
    assert operator_api.get(f"/incidents/{second_incident}").json["status"] == "reported"  # still open: pays nothing


@freeze_time(AFTER)
def test_summary_period_reads_local_dates_and_unencoded_offsets(second_incident, operator_api):
    # 2026-11-23 in Shanghai starts at 2026-11-22T16:00Z; both incidents fall on that local day.
    assert operator_api.get("/reports/summary?from=2026-11-23&to=2026-11-24").json["incidents"] == 2
    assert operator_api.get("/reports/summary?from=2026-11-23&to=2026-11-23T10:00:00+08:00").json["incidents"] == 1
    assert operator_api.get("/reports/summary?from=2026-11-24&to=2026-11-25").json["incidents"] == 0


@freeze_time(AFTER)
def test_summary_page_draws_charts_and_reads_compensation_through_the_provider(second_incident, operator_api,
                                                                               monkeypatch):
    monkeypatch.setattr(providers, "compensation_paid_fen", lambda ids: 123456 if len(ids) == 2 else -1)
    assert operator_api.get(f"/reports/summary?{PERIOD}").json["compensation_paid"] == "1234.56"
    page = operator_api.get(f"/reports/summary?{PERIOD}&format=html")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 3 and "二级故障" in html and "技术性原因" in html and "¥1234.56" in html
    assert "50.0%" in html  # report window compliance


def test_summary_period_is_validated(app_ctx, operator_api):
    backwards = operator_api.get("/reports/summary?from=2026-11-02T00:00:00+08:00&to=2026-11-01T00:00:00+08:00")
    assert backwards.status_code == 422 and "from" in str(backwards.json["errors"])
    assert operator_api.get("/reports/summary?from=yesterday").status_code == 422
    empty = operator_api.get("/reports/summary")
    assert empty.status_code == 200 and empty.json["incidents"] == 0 and empty.json["mean_minutes_to_report"] is None
    assert empty.json["compensation_paid_fen"] == 0


def test_summary_needs_credentials(client):
    assert client.get("/api/v1/reports/summary").status_code == 401


def test_summary_time_to_report_counts_the_dispatch_acknowledgement_not_the_button(operator_api):
    """RULES §9: the receiver's acknowledgement, not the button, is when an incident counts as
    reported. Button at +5 min, acknowledged at +25 min → 25; one never acknowledged has no time."""
    def declare_and_press(title: str) -> int:
        incident = operator_api.post("/incidents", json={
            "title": title, "services": ["fixed_voice"], "regions": ["温州"],
            "detected_at": DETECTED.isoformat(),
            "estimated_recovery_at": (DETECTED + timedelta(hours=3)).isoformat()}).json
        reported = operator_api.post(f"/incidents/{incident['id']}/report",
                                     json={"fault_type": "传输拥塞", "scope_summary": "温州"})
        assert reported.status_code == 200, reported.json
        return incident["id"]

    with freeze_time(DETECTED + timedelta(minutes=5)):
        acknowledged_late = declare_and_press("温州语音中断")
        declare_and_press("温州语音质量下降（调度中心未确认）")
    with freeze_time(DETECTED + timedelta(minutes=25)):
        assert factories.dispatch_acknowledges(acknowledged_late) == 1
    with freeze_time(DETECTED + timedelta(hours=1)):
        s = operator_api.get(f"/reports/summary?{PERIOD}").json
    assert s["incidents"] == 2
    assert s["mean_minutes_to_report"] == pytest.approx(25.0)
