"""A fully worked incident's 故障分析报告 carries the right figures in every format."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from freezegun import freeze_time
from pypdf import PdfReader

from app.auth.models import Role
from app.policy import current_policy
from app.reports import render
from tests.reports.conftest import IN_SCOPE_FEES_FEN
from tests.reports.worked import AFTER, DETECTED, RECOVERED, REPORTED, RESPONDED

# Deadlines and compensation are the real domains; only the notifier is a stand-in.
pytestmark = pytest.mark.usefixtures("notifier_stand_ins")


def _edit(api, incident_id, **text):
    response = api.put(f"/incidents/{incident_id}/analysis-report", json=text)
    assert response.status_code == 200, response.json
    return response.json


def _add_rectification(api, incident_id, title, owner, due_date):
    response = api.post(f"/incidents/{incident_id}/rectifications",
                        json={"title": title, "owner": owner, "due_date": due_date.isoformat()})
    assert response.status_code == 201, response.json
    return response.json["id"]


@pytest.fixture
def reviewed(worked_incident, api_as, operator_api):
    reviewer = api_as(Role.reviewer)
    with freeze_time(AFTER):  # 2026-11-23 11:30 in Shanghai
        done = _add_rectification(operator_api, worked_incident, "更换老化主控板", "网络部 王强", date(2026, 11, 30))
        completed = operator_api.patch(f"/incidents/{worked_incident}/rectifications/{done}",
                                       json={"completed": True, "completion_note": "三个基站主控板已更换"})
        assert completed.status_code == 200, completed.json
        _add_rectification(operator_api, worked_incident, "基站双路供电改造", "动力部 李娜", date(2026, 12, 31))
        _add_rectification(operator_api, worked_incident, "告警确认流程培训", "值班室 赵敏", date(2026, 11, 20))
        _edit(reviewer, worked_incident, preventive_measures="增加主控板冗余配置；每季度巡检备用电源。",
              lessons="上报超时：值班员未及时确认告警。")
        _edit(reviewer, worked_incident, rectification_notes="整改由网络部牵头，动力部配合。")
    return worked_incident, reviewer


def _credit_fen(fee_fen: int, outage_minutes: int, operator_share: int, multiplier: int) -> int:
    """RULES §5 by hand: monthly_fee × outage_hours / 720 × operator_share × multiplier, half-up to the fen."""
    credit = Decimal(fee_fen) * Decimal(outage_minutes) / 60 / 720 * Decimal(operator_share) / 100 * multiplier
    return int(credit.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# 180 min outage (recovered 3 h after detection), technical 70% is the operator's, the level-3
# recovery window (12 h) was met so no multiplier: 17 + 37 + 87 fen.
OUTAGE_MINUTES = int((RECOVERED - DETECTED).total_seconds() // 60)
PREVIEW_CREDIT_FEN = 141
assert sum(_credit_fen(fee, OUTAGE_MINUTES, 70, 1) for fee in IN_SCOPE_FEES_FEN.values()) == PREVIEW_CREDIT_FEN

# Figures every format must carry, in the words a reader sees.
EXPECTED = [
    "故障分析报告", "INC-20261123-0001", "三级故障", "涉及医院与应急通信", "mobile_data", "杭州",
    "2026-11-23 08:00",          # detected, in Asia/Shanghai
    "2026-11-23 08:40",          # reported
    "2026-11-23 11:00",          # recovered
    "已派出抢修队",               # the timeline narrative
    "网络设备故障", "70%", "电力供应中断", "30%", "运营方承担比例",
    "540",                       # user-minutes: 3 subscribers × 180 min
    "9.0",                       # user-hours
    "超时 25分钟",                # report: due 08:15, done 08:40 (the deadline table's breach)
    "超时 30分钟",                # emergency response: due 08:30, done 09:00
    "2026-11-24 11:00",          # analysis report due 24 h after recovery
    "恢复通知", "¥1.41", "3 GB", "闭环前预览",
    "更换老化主控板", "网络部 王强", "已完成", "2026-11-30 23:59",
    "基站双路供电改造", "动力部 李娜", "待整改", "告警确认流程培训", "已逾期",
    "4.50", "增加主控板冗余配置", "上报超时：值班员未及时确认告警。", "整改由网络部牵头",
]


def _expected_with_policy():
    return EXPECTED + [current_policy().version]


def test_json_sections_carry_the_figures(reviewed):
    incident_id, reviewer = reviewed
    with freeze_time(AFTER):
        doc = reviewer.get(f"/incidents/{incident_id}/analysis-report").json
    assert doc["version"] == 2 and doc["state"] == "draft"
    sections = {s["key"]: s for s in doc["sections"]}
    assert [s["key"] for s in doc["sections"]] == ["overview", "timeline", "cause", "scope", "deadlines", "notices",
                                                   "compensation", "measures", "satisfaction"]
    overview = sections["overview"]["data"]
    assert overview["affected_subscribers"] == 3 and overview["user_minutes"] == 540 and overview["major"] is True
    assert overview["outage_minutes"] == 180
    events = sections["timeline"]["data"]["events"]
    assert [e["kind"] for e in events] == TIMELINE_KINDS
    late = [e for e in events if e["kind"] == "deadline_met_late"]
    assert [e["kind_zh"] for e in late] == ["超时完成", "超时完成"] and "迟 25 分钟" in late[0]["message"]
    assert sections["cause"]["data"]["operator_share"] == 70

    deadlines = sections["deadlines"]["data"]
    assert deadlines["source"] == "deadlines" and deadlines["source_note"] is None
    rows = {r["kind"]: r for r in deadlines["rows"]}
    assert list(rows) == ["report", "emergency_response", "response", "recovery", "recovery_notice",
                          "formal_notice", "analysis_report"]
    report = rows["report"]
    assert report["due_at"] == (DETECTED + timedelta(minutes=15)).isoformat()
    assert report["done_at"] == REPORTED.isoformat()
    assert (report["state"], report["late_minutes"]) == ("breached", 25)
    emergency = rows["emergency_response"]
    assert emergency["done_at"] == RESPONDED.isoformat()
    assert (emergency["state"], emergency["late_minutes"]) == ("breached", 30)
    assert rows["response"]["state"] == "met" and rows["response"]["late_minutes"] is None
    assert rows["recovery"]["state"] == "met" and rows["recovery"]["done_at"] == RECOVERED.isoformat()
    assert rows["recovery_notice"]["due_at"] == (RECOVERED + timedelta(hours=2)).isoformat()
    assert rows["recovery_notice"]["state"] == "pending"  # nobody sent it: the notifier is not merged
    assert rows["analysis_report"]["due_at"] == (RECOVERED + timedelta(hours=24)).isoformat()
    assert rows["analysis_report"]["state"] == "pending"
    assert (deadlines["breached"], deadlines["met"]) == (2, 2)

    assert sections["notices"]["data"]["totals"] == {"sent": 8, "delivered": 7, "failed": 1, "opted_out": 2}
    compensation = sections["compensation"]["data"]
    assert compensation["final"] is False and compensation["policy_version"] == current_policy().version
    assert compensation["economic_credit_fen"] == PREVIEW_CREDIT_FEN and compensation["economic_credit_text"] == "1.41"
    assert compensation["subscribers_credited"] == 3 and compensation["data_credit_gb"] == 3  # 1 GB per started 4 h
    assert compensation["disputes"] == 0
    measures = sections["measures"]["data"]
    assert measures["preventive_measures"].startswith("增加主控板冗余配置")
    assert [(i["title"], i["owner"], i["state"]) for i in measures["rectification_items"]] == [
        ("更换老化主控板", "网络部 王强", "done"), ("基站双路供电改造", "动力部 李娜", "open"),
        ("告警确认流程培训", "值班室 赵敏", "overdue")]
    assert measures["rectification_items"][0]["done_at"] == AFTER.isoformat()
    assert measures["rectification_items"][1]["due_at"] == "2026-12-31T23:59:00+08:00"
    assert sections["satisfaction"]["data"]["average"] == 4.5


# The timeline as the deadline table writes into it: each late act is judged breached, then met late.
TIMELINE_KINDS = [
    "declared", "reported", "deadline_breached", "deadline_met_late", "responded", "deadline_breached",
    "deadline_met_late", "progress_update", "responsibility_set", "recovered", "rectification_added",
    "rectification_completed", "rectification_added", "rectification_added"]


def test_closed_incident_report_shows_the_final_ledger(reviewed, manager_api, operator_api):
    """After closure the compensation section is the final ledger, with an approved adjustment in it."""
    incident_id, reviewer = reviewed
    submitted_at = AFTER + timedelta(minutes=10)
    with freeze_time(submitted_at):
        assert manager_api.post(f"/incidents/{incident_id}/analysis-report/submit").status_code == 200
        closed = manager_api.post(f"/incidents/{incident_id}/close")
        assert closed.status_code == 200, closed.json
        ledger = operator_api.get(f"/incidents/{incident_id}/compensation").json
        assert ledger["final"] is True
        assert [i["economic_credit"] for i in ledger["items"]] == ["0.17", "0.37", "0.87"]  # fees 58, 128, 299 元
        doc = reviewer.get(f"/incidents/{incident_id}/analysis-report").json
        compensation = next(s for s in doc["sections"] if s["key"] == "compensation")["data"]
        assert compensation["final"] is True and compensation["economic_credit_fen"] == PREVIEW_CREDIT_FEN

        # The third subscriber disputes; the duty manager approves ¥5.00: the ledger's current figure.
        entry_id = ledger["items"][2]["entry_id"]
        disputed = operator_api.post(f"/compensation/{entry_id}/dispute",
                                     json={"reason": "影响营业", "economic_credit": "5.00", "data_credit_gb": 1})
        assert disputed.status_code == 201, disputed.json
        assert manager_api.post(f"/compensation/{entry_id}/approve", json={}).status_code == 200
        doc = reviewer.get(f"/incidents/{incident_id}/analysis-report").json
        html = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=html").get_data(as_text=True)
    sections = {s["key"]: s["data"] for s in doc["sections"]}
    compensation = sections["compensation"]
    assert compensation["final"] is True and compensation["final_zh"] == "最终台账"
    assert compensation["economic_credit_fen"] == 17 + 37 + 500 and compensation["disputes"] == 1
    assert compensation["data_credit_gb"] == 3
    assert "最终台账" in html and "¥5.54" in html and "闭环前预览" not in html
    analysis = {r["kind"]: r for r in sections["deadlines"]["rows"]}["analysis_report"]
    assert (analysis["state"], analysis["done_at"]) == ("met", submitted_at.isoformat())


def test_html_report_is_self_contained_and_carries_every_figure(reviewed):
    incident_id, reviewer = reviewed
    with freeze_time(AFTER):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for figure in _expected_with_policy():
        assert figure in html, figure
    assert "<svg" in html and html.count('class="breach"') == 2  # the two late windows marked on the time bar
    assert "通知送达曲线" in html
    assert "@media print" in html and "@page" in html
    assert not re.search(r'(src|href)="https?://', html)  # nothing fetched from elsewhere


def test_markdown_report_carries_every_figure(reviewed):
    incident_id, reviewer = reviewed
    with freeze_time(AFTER):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=md")
    assert response.status_code == 200 and response.mimetype == "text/markdown"
    text = response.get_data(as_text=True)
    for figure in _expected_with_policy():
        assert figure in text, figure
    assert "| 报告 |" not in text and "\n\n\n" not in text
    assert "| 上报服务调度中心 | 15分钟 | 2026-11-23 08:15 | 2026-11-23 08:40 | 超时 25分钟 |" in text


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def test_pdf_report_renders_chinese_text(reviewed):
    available, reason = render.pdf_available()
    assert available, reason  # the quick start installs WeasyPrint and the CJK font package
    incident_id, reviewer = reviewed
    with freeze_time(AFTER):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = _pdf_text(response.data)
    for figure in _expected_with_policy():
        assert re.sub(r"\s+", "", figure) in text, figure
    # The CJK font from the PyPI package is embedded, not left to the reader's (or server's) system fonts.
    fonts = {str(font.get_object()["/BaseFont"]) for page in PdfReader(io.BytesIO(response.data)).pages
             for font in page["/Resources"]["/Font"].values()}
    assert any(name.endswith("+Noto-Sans-SC") for name in fonts), fonts


def test_pdf_without_system_libraries_answers_503(reviewed, monkeypatch):
    incident_id, reviewer = reviewed

    def missing():
        raise render.PdfUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(render, "_weasyprint", missing)
    with freeze_time(AFTER):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=pdf")
    assert response.status_code == 503
    assert "PDF 生成不可用" in response.json["message"] and "libpango" in response.json["message"]
    # the other formats still work
    with freeze_time(AFTER):
        assert reviewer.get(f"/incidents/{incident_id}/analysis-report?format=html").status_code == 200


def test_reviewer_text_is_escaped_in_html_and_markdown(worked_incident, api_as):
    reviewer = api_as(Role.reviewer)
    with freeze_time(AFTER):
        _edit(reviewer, worked_incident, preventive_measures='<script>alert("x")</script> 加装 UPS',
              lessons="第一行\n第二行")
        html = reviewer.get(f"/incidents/{worked_incident}/analysis-report?format=html").get_data(as_text=True)
        markdown = reviewer.get(f"/incidents/{worked_incident}/analysis-report?format=md").get_data(as_text=True)
    assert "<script>" not in html and "&lt;script&gt;" in html and "加装 UPS" in html
    assert "第一行\n第二行" in html  # line breaks kept (pre-wrap)
    # Markdown keeps the reviewer's words but not live HTML (a Markdown viewer would run it).
    assert "<script>" not in markdown and '&lt;script&gt;alert("x")&lt;/script&gt; 加装 UPS' in markdown
    assert "第一行\n第二行" in markdown
