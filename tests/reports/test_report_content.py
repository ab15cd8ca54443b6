"""A fully worked incident's 故障分析报告 carries the right figures in every format."""
from __future__ import annotations

import io
import re

import pytest
from freezegun import freeze_time
from pypdf import PdfReader

from app.auth.models import Role
from app.reports import render
from tests.reports.worked import AFTER

pytestmark = pytest.mark.usefixtures("other_domains")


def _edit(api, incident_id, **text):
    response = api.put(f"/incidents/{incident_id}/analysis-report", json=text)
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def reviewed(worked_incident, api_as):
    reviewer = api_as(Role.reviewer)
    with freeze_time(AFTER):
        _edit(reviewer, worked_incident, preventive_measures="增加主控板冗余配置；每季度巡检备用电源。",
              lessons="上报超时：值班员未及时确认告警。")
        _edit(reviewer, worked_incident, rectification_notes="整改由网络部牵头，动力部配合。")
    return worked_incident, reviewer


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
    "超时 25分钟",                # report: due 08:15, done 08:40
    "超时 30分钟",                # emergency response: due 08:30, done 09:00
    "恢复通知", "¥12.34", "3 GB", "2026.1+c0ffee01",
    "更换老化主控板", "网络部 王强", "整改中", "基站双路供电改造",
    "4.50", "增加主控板冗余配置", "上报超时：值班员未及时确认告警。", "整改由网络部牵头",
]


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
    assert [e["kind"] for e in sections["timeline"]["data"]["events"]] == [
        "declared", "reported", "responded", "progress_update", "responsibility_set", "recovered"]
    assert sections["cause"]["data"]["operator_share"] == 70
    rows = {r["kind"]: r for r in sections["deadlines"]["data"]["rows"]}
    assert sections["deadlines"]["data"]["source"] == "incident_timestamps"
    assert (rows["report"]["state"], rows["report"]["late_minutes"]) == ("breached", 25)
    assert (rows["emergency_response"]["state"], rows["emergency_response"]["late_minutes"]) == ("breached", 30)
    assert rows["response"]["state"] == "met" and rows["recovery"]["state"] == "met"
    assert rows["analysis_report"]["state"] == "pending"
    assert rows["recovery_notice"]["state"] == "unknown"  # only the notifier can say
    assert sections["notices"]["data"]["totals"] == {"sent": 8, "delivered": 7, "failed": 1, "opted_out": 2}
    assert sections["compensation"]["data"]["economic_credit_fen"] == 1234
    assert sections["measures"]["data"]["preventive_measures"].startswith("增加主控板冗余配置")
    assert sections["satisfaction"]["data"]["average"] == 4.5


def test_html_report_is_self_contained_and_carries_every_figure(reviewed):
    incident_id, reviewer = reviewed
    with freeze_time(AFTER):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for figure in EXPECTED:
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
    for figure in EXPECTED:
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
    for figure in EXPECTED:
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
