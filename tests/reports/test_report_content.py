"""A fully worked incident's 故障分析报告 carries the right figures in every format."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from freezegun import freeze_time
from pypdf import PdfReader

from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.notify.models import Notice
from app.incidents.service import get_incident
from app.policy import current_policy
from app.reports import providers, render
from app.subscribers.models import Subscriber
from tests.notify.helpers import drain, post_status_callbacks, signed_post
from tests import factories
from tests.reports.conftest import IN_SCOPE_FEES_FEN, add_in_scope_subscribers, walk_worked_incident
from tests.reports.worked import AFTER, DETECTED, RECOVERED, REPORTED, RESPONDED

# Every domain is the real one: deadlines, compensation, and the notifier, whose notices go
# through the real sender to the local gateway and come back as signed status callbacks.
FIRST, SECOND, THIRD = IN_SCOPE_FEES_FEN
INVALID = "+8613800021211"      # the gateway answers 21211 (not a valid number) for every message to it
OPTED_OUT = "+8613800000005"    # replied 退订 before the incident: no notice that is not mandatory
EXTRA_FEES_FEN = {INVALID: 5800, OPTED_OUT: 5800}
FORMAL_AT = RECOVERED + timedelta(minutes=20)
SURVEY_AT = RECOVERED + timedelta(minutes=60)   # policy notices.survey_delay_minutes
READ = RECOVERED + timedelta(minutes=80)        # 2026-11-23 12:20 in Shanghai: the report is read
INBOUND = "/api/v1/webhooks/sms/inbound"


def _notice_ids(incident_id: int, kind: str) -> dict[str, int]:
    """phone → notice id of this kind."""
    return dict(db.session.execute(
        select(Subscriber.phone, Notice.id).join(Subscriber, Subscriber.id == Notice.subscriber_id)
        .where(Notice.incident_id == incident_id, Notice.kind == kind)).all())


def _send_and_report(sender, client, gateway, incident_id, kind, sent_at, outcomes):
    """The sender drains the outbox at ``sent_at``; then the provider reports each outcome at its time.

    ``outcomes``: [(minutes after sent_at, phone, final status, error code)].
    """
    with freeze_time(sent_at):
        drain(sender)
    ids = _notice_ids(incident_id, kind)
    for minutes, phone, final, code in outcomes:
        with freeze_time(sent_at + timedelta(minutes=minutes)):
            post_status_callbacks(client, gateway, {ids[phone]: (final, code)})


@pytest.fixture
def notified(app_ctx, client, operator_api, manager_api, gateway, sender):
    """The worked incident with five subscribers hit, and every notice really sent.

    故障通知 (on the report) and 恢复通知, then the 正式通知 for this major incident. The
    number that is not valid fails at the provider each time; the opted-out subscriber is
    never sent anything; one recovery notice comes back undelivered (30006, final).
    """
    add_in_scope_subscribers()
    for phone, fee_fen in EXTRA_FEES_FEN.items():
        factories.subscriber(phone, fee_fen=fee_fen, name="用户")
    with freeze_time(DETECTED - timedelta(days=3)):
        stop = signed_post(client, app_ctx, INBOUND, {"From": OPTED_OUT, "Body": "退订", "MessageSid": "SMstop"})
        assert stop.status_code == 200 and "退订" in stop.get_data(as_text=True)

    def outage(incident_id):
        _send_and_report(sender, client, gateway, incident_id, "outage", REPORTED + timedelta(minutes=1), [
            (2, FIRST, "delivered", None), (2, SECOND, "delivered", None), (4, THIRD, "delivered", None)])

    def recovery(incident_id):
        _send_and_report(sender, client, gateway, incident_id, "recovery", RECOVERED + timedelta(minutes=1), [
            (1, FIRST, "delivered", None), (1, SECOND, "delivered", None), (3, THIRD, "undelivered", "30006")])

    incident_id = walk_worked_incident(operator_api, after_report=outage, after_recovery=recovery)
    with freeze_time(FORMAL_AT):
        formal = operator_api.post(f"/incidents/{incident_id}/notices", json={
            "kind": "formal", "explanation": "因西湖区三个基站主控板故障，移动数据业务中断3小时，现已恢复。"})
        assert formal.status_code == 201, formal.json
    _send_and_report(sender, client, gateway, incident_id, "formal", FORMAL_AT, [
        (2, FIRST, "delivered", None), (2, SECOND, "delivered", None), (2, THIRD, "delivered", None)])
    # What reached the provider: three messages to each working number, nothing to the other two.
    to = [m["to"] for m in gateway.gateway.messages.values()]
    assert {phone: to.count(phone) for phone in (FIRST, SECOND, THIRD, INVALID, OPTED_OUT)} == {
        FIRST: 3, SECOND: 3, THIRD: 3, INVALID: 0, OPTED_OUT: 0}
    return incident_id


def _survey_and_replies(sender, client, app, gateway, incident_id):
    """The 满意度调查 goes out when its hold ends; two subscribers answer 5 and 4 by SMS."""
    with freeze_time(SURVEY_AT - timedelta(minutes=1)):
        assert drain(sender) == 0    # still held
    _send_and_report(sender, client, gateway, incident_id, "survey", SURVEY_AT, [
        (1, FIRST, "delivered", None), (1, SECOND, "delivered", None), (1, THIRD, "delivered", None)])
    for minutes, phone, score in ((5, FIRST, "5"), (9, SECOND, "4")):
        with freeze_time(SURVEY_AT + timedelta(minutes=minutes)):
            reply = signed_post(client, app, INBOUND, {"From": phone, "Body": score, "MessageSid": f"SMreply{score}"})
            assert reply.status_code == 200 and "感谢您的评价" in reply.get_data(as_text=True)


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
def reviewed(notified, api_as, operator_api, sender, client, app_ctx, gateway):
    worked_incident = notified
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
    _survey_and_replies(sender, client, app_ctx, gateway, worked_incident)
    return worked_incident, reviewer


def _credit_fen(fee_fen: int, outage_minutes: int, operator_share: int, multiplier: int) -> int:
    """RULES §5 by hand: monthly_fee × outage_hours / 720 × operator_share × multiplier, half-up to the fen."""
    credit = Decimal(fee_fen) * Decimal(outage_minutes) / 60 / 720 * Decimal(operator_share) / 100 * multiplier
    return int(credit.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# 180 min outage (recovered 3 h after detection), technical 70% is the operator's, the level-3
# recovery window (12 h) was met so no multiplier: 17 + 37 + 87 + 17 + 17 fen (every subscriber hit
# is credited, whether their number works or they opted out of notices).
OUTAGE_MINUTES = int((RECOVERED - DETECTED).total_seconds() // 60)
PREVIEW_CREDIT_FEN = 175
assert sum(_credit_fen(fee, OUTAGE_MINUTES, 70, 1)
           for fee in {**IN_SCOPE_FEES_FEN, **EXTRA_FEES_FEN}.values()) == PREVIEW_CREDIT_FEN

# The notices by hand. Five subscribers hit; the opted-out one is never queued (1 opted out per
# kind); the invalid number fails at the provider every time (1 failed per kind); the other three
# are accepted (sent), and delivered, except one recovery notice that came back undelivered.
NOTICE_COUNTS = [
    {"kind": "outage", "sent": 3, "delivered": 3, "failed": 1, "opted_out": 1},
    {"kind": "recovery", "sent": 3, "delivered": 2, "failed": 2, "opted_out": 1},
    {"kind": "formal", "sent": 3, "delivered": 3, "failed": 1, "opted_out": 1},
    {"kind": "survey", "sent": 3, "delivered": 3, "failed": 1, "opted_out": 1},
]
NOTICE_TOTALS = {"sent": 12, "delivered": 11, "failed": 5, "opted_out": 4}
# Deliveries per minute, as the callbacks above reported them (the delivery curve's data).
DELIVERY_SERIES = [
    {"kind": "outage", "minute": REPORTED + timedelta(minutes=3), "delivered": 2},
    {"kind": "outage", "minute": REPORTED + timedelta(minutes=5), "delivered": 1},
    {"kind": "recovery", "minute": RECOVERED + timedelta(minutes=2), "delivered": 2},
    {"kind": "formal", "minute": FORMAL_AT + timedelta(minutes=2), "delivered": 3},
    {"kind": "survey", "minute": SURVEY_AT + timedelta(minutes=1), "delivered": 3},
]

# Rows every format must carry, cell after cell (compared with the markup and white space taken out).
ROWS = [
    "故障通知3311", "恢复通知3221", "正式通知3311", "满意度调查3311", "合计total121154",
    # the recovery notice: every notice accepted at 11:01, due 13:00; the formal notice at 11:20, due 15:00
    # (the deadline states by DeadlineState's labels, as the console shows them)
    "恢复通知2小时2026-11-2313:002026-11-2311:01已达标", "正式通知4小时2026-11-2315:002026-11-2311:20已达标",
    "恢复通知时限：已达标", "正式通知时限：已达标", "达标4项，超时2项",
    "调查3人，回复2人（回复率66.7%），平均分4.50/5", "评分score12345回复replies00011",
]


def _flat(text: str) -> str:
    """Text without markup (HTML tags, Markdown table bars and emphasis) and without white space."""
    text = re.sub(r"<svg.*?</svg>", "", text, flags=re.S)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(?m)^\|[-:|]+$", "", text)  # a Markdown table's alignment row
    return re.sub(r"[\s|*]", "", text)


def _assert_rows(text: str) -> None:
    flat = _flat(text)
    for row in ROWS:
        assert row in flat, row

# Figures every format must carry, in the words a reader sees.
EXPECTED = [
    "故障分析报告", "INC-20261123-0001", "三级故障", "涉及医院与应急通信", "移动数据", "杭州",
    "2026-11-23 08:00",          # detected, in Asia/Shanghai
    "2026-11-23 08:40",          # reported
    "2026-11-23 11:00",          # recovered
    "已派出抢修队",               # the timeline narrative
    "网络设备故障", "70%", "电力供应中断", "30%", "运营方承担比例",
    "900",                       # user-minutes: 5 subscribers × 180 min
    "15.0",                      # user-hours
    "超时 25分钟",                # report: due 08:15, done 08:40 (the deadline table's breach)
    "超时 30分钟",                # emergency response: due 08:30, done 09:00
    "2026-11-24 11:00",          # analysis report due 24 h after recovery
    "恢复通知", "¥1.75", "5 GB", "闭环前预览",
    "更换老化主控板", "网络部 王强", "已完成", "2026-11-30 23:59",
    "基站双路供电改造", "动力部 李娜", "待整改", "告警确认流程培训", "已逾期",
    "4.50", "增加主控板冗余配置", "上报超时：值班员未及时确认告警。", "整改由网络部牵头",
]


def _expected_with_policy():
    return EXPECTED + [current_policy().version]


def test_json_sections_carry_the_figures(reviewed):
    incident_id, reviewer = reviewed
    with freeze_time(READ):
        doc = reviewer.get(f"/incidents/{incident_id}/analysis-report").json
    assert doc["version"] == 2 and doc["state"] == "draft"
    sections = {s["key"]: s for s in doc["sections"]}
    assert [s["key"] for s in doc["sections"]] == ["overview", "timeline", "cause", "scope", "deadlines", "notices",
                                                   "compensation", "measures", "satisfaction", "complaints"]
    overview = sections["overview"]["data"]
    assert overview["affected_subscribers"] == 5 and overview["user_minutes"] == 900 and overview["major"] is True
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
    # Met when the provider had accepted every recovery notice (the invalid number's is finished, failed).
    recovery_notice = rows["recovery_notice"]
    assert recovery_notice["due_at"] == (RECOVERED + timedelta(hours=2)).isoformat()
    assert (recovery_notice["state"], recovery_notice["done_at"]) == ("met", (RECOVERED + timedelta(minutes=1)).isoformat())
    formal_notice = rows["formal_notice"]
    assert formal_notice["due_at"] == (RECOVERED + timedelta(hours=4)).isoformat()
    assert (formal_notice["state"], formal_notice["done_at"]) == ("met", FORMAL_AT.isoformat())
    assert rows["analysis_report"]["due_at"] == (RECOVERED + timedelta(hours=24)).isoformat()
    assert rows["analysis_report"]["state"] == "pending"
    assert (deadlines["breached"], deadlines["met"]) == (2, 4)

    notices = sections["notices"]["data"]
    assert [{k: r[k] for k in NOTICE_COUNTS[0]} for r in notices["rows"]] == NOTICE_COUNTS
    assert notices["totals"] == NOTICE_TOTALS
    assert [(w["kind"], w["state"]) for w in notices["windows"]] == [("recovery_notice", "met"), ("formal_notice", "met")]
    with freeze_time(READ):
        assert providers.notice_delivery_series(get_incident(incident_id)) == DELIVERY_SERIES
    compensation = sections["compensation"]["data"]
    assert compensation["final"] is False and compensation["policy_version"] == current_policy().version
    assert compensation["economic_credit_fen"] == PREVIEW_CREDIT_FEN and compensation["economic_credit_text"] == "1.75"
    assert compensation["subscribers_credited"] == 5 and compensation["data_credit_gb"] == 5  # 1 GB per started 4 h
    assert compensation["disputes"] == 0
    measures = sections["measures"]["data"]
    assert measures["preventive_measures"].startswith("增加主控板冗余配置")
    assert [(i["title"], i["owner"], i["state"]) for i in measures["rectification_items"]] == [
        ("更换老化主控板", "网络部 王强", "done"), ("基站双路供电改造", "动力部 李娜", "open"),
        ("告警确认流程培训", "值班室 赵敏", "overdue")]
    assert measures["rectification_items"][0]["done_at"] == AFTER.isoformat()
    assert measures["rectification_items"][1]["due_at"] == "2026-12-31T23:59:00+08:00"
    satisfaction = sections["satisfaction"]["data"]
    assert (satisfaction["surveyed"], satisfaction["replies"], satisfaction["average"]) == (3, 2, 4.5)
    assert satisfaction["distribution"] == {"4": 1, "5": 1}  # JSON keys: the scores 4 and 5, one reply each


# The timeline as the deadline table writes into it: each late act is judged breached, then met late.
TIMELINE_KINDS = [
    "declared", "reported", "outbound_acknowledged", "deadline_breached", "deadline_met_late", "responded", "deadline_breached",
    "deadline_met_late", "progress_update", "responsibility_set", "recovered", "rectification_added",
    "rectification_completed", "rectification_added", "rectification_added"]


def test_closed_incident_report_shows_the_final_ledger(reviewed, manager_api, operator_api):
    """After closure the compensation section is the final ledger, with an approved adjustment in it."""
    incident_id, reviewer = reviewed
    submitted_at = READ + timedelta(minutes=10)
    with freeze_time(submitted_at):
        assert manager_api.post(f"/incidents/{incident_id}/analysis-report/submit").status_code == 200
        closed = manager_api.post(f"/incidents/{incident_id}/close")
        assert closed.status_code == 200, closed.json
        ledger = operator_api.get(f"/incidents/{incident_id}/compensation").json
        assert ledger["final"] is True
        assert [i["economic_credit"] for i in ledger["items"]] == ["0.17", "0.37", "0.87", "0.17", "0.17"]  # fees 58, 128, 299, 58, 58 元
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
    assert compensation["economic_credit_fen"] == 17 + 37 + 500 + 17 + 17 and compensation["disputes"] == 1
    assert compensation["data_credit_gb"] == 5
    assert "最终台账" in html and "¥5.88" in html and "闭环前预览" not in html
    analysis = {r["kind"]: r for r in sections["deadlines"]["rows"]}["analysis_report"]
    assert (analysis["state"], analysis["done_at"]) == ("met", submitted_at.isoformat())


def test_html_report_is_self_contained_and_carries_every_figure(reviewed):
    incident_id, reviewer = reviewed
    with freeze_time(READ):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for figure in _expected_with_policy():
        assert figure in html, figure
    assert "mobile_data" not in html  # service names, never codes
    assert "<svg" in html and html.count('class="breach"') == 2  # the two late windows marked on the time bar
    _assert_rows(html)
    # The delivery curve, one line per kind, each labelled with its cumulative deliveries.
    curve = re.search(r'<svg[^>]*>(?:(?!</svg>).)*通知送达曲线.*?</svg>', html, flags=re.S).group(0)
    assert curve.count("<polyline") == 4
    for legend in ("故障通知 3", "恢复通知 2", "正式通知 3", "满意度调查 3"):
        assert legend in curve, legend
    assert "@media print" in html and "@page" in html
    assert not re.search(r'(src|href)="https?://', html)  # nothing fetched from elsewhere


def test_markdown_report_carries_every_figure(reviewed):
    incident_id, reviewer = reviewed
    with freeze_time(READ):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=md")
    assert response.status_code == 200 and response.mimetype == "text/markdown"
    text = response.get_data(as_text=True)
    for figure in _expected_with_policy():
        assert figure in text, figure
    assert "mobile_data" not in text
    _assert_rows(text)
    assert "| 恢复通知 | 3 | 2 | 2 | 1 |" in text
    assert "| 报告 |" not in text and "\n\n\n" not in text
    assert "| 上报服务调度中心 | 15分钟 | 2026-11-23 08:15 | 2026-11-23 08:40 | 超时 25分钟 |" in text


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def test_pdf_report_renders_chinese_text(reviewed):
    available, reason = render.pdf_available()
    assert available, reason  # the quick start installs WeasyPrint and the CJK font package
    incident_id, reviewer = reviewed
    with freeze_time(READ):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = _pdf_text(response.data)
    for figure in _expected_with_policy():
        assert re.sub(r"\s+", "", figure) in text, figure
    _assert_rows(text)
    # The CJK font from the PyPI package is embedded, not left to the reader's (or server's) system fonts.
    fonts = {str(font.get_object()["/BaseFont"]) for page in PdfReader(io.BytesIO(response.data)).pages
             for font in page["/Resources"]["/Font"].values()}
    assert any(name.endswith("+Noto-Sans-SC") for name in fonts), fonts


def test_pdf_without_system_libraries_answers_503(reviewed, monkeypatch):
    incident_id, reviewer = reviewed

    def missing():
        raise render.PdfUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(render, "_weasyprint", missing)
    with freeze_time(READ):
        response = reviewer.get(f"/incidents/{incident_id}/analysis-report?format=pdf")
    assert response.status_code == 503
    assert "PDF 生成不可用" in response.json["message"] and "libpango" in response.json["message"]
    # the other formats still work
    with freeze_time(READ):
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
