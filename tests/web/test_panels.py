"""The incident page's panels from the other domains, and the board's deadline column.

One major incident in 杭州 is walked through the real services (no stand-ins): declared at
08:00 Shanghai, reported 30 minutes later (the 15-minute report window breached), emergency
response and response in time, recovered at 10:00; three subscribers are affected.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from app.auth.models import Role
from app.clock import utcnow
from app.compensation import accountability
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.service import ResponsibilityEntry
from app.notify.models import Notice
from app.reports import service as reports
from tests import factories
from tests.web.conftest import csrf_token_of, fresh_client
from tests.factories import send_formal_notice

DETECTED = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)     # 08:00 Shanghai
REPORTED = DETECTED + timedelta(minutes=30)                        # 08:30: 15 minutes late
RECOVERED = DETECTED + timedelta(hours=2)                          # 10:00


@pytest.fixture(autouse=True)
def clock():
    with freeze_time(REPORTED) as frozen:
        yield frozen


@pytest.fixture
def subscribers(app_ctx):
    factories.subscriber("+8613800000001", fee_fen=7200)
    factories.subscriber("+8613800000002", fee_fen=7200)
    factories.subscriber("+8613800000003", fee_fen=14400)
    factories.subscriber("+8613800000004", fee_fen=7200, region="宁波")  # outside the scope


def walk_to_recovery(actor, clock, *, major: bool = True) -> int:
    """Declared 08:00, reported 08:30 (late), responded 08:30, recovered 10:00; 100% technical."""
    incident = incidents.declare(actor, title="杭州移动数据中断", services=["mobile_data"], regions=["杭州"],
                                 detected_at=DETECTED, major=major or None,
                                 major_reason="省会城市大面积中断" if major else None)
    incidents.report(incident.id, actor, fault_type="基站退服", scope_summary="杭州全市",
                     estimated_recovery_at=DETECTED + timedelta(hours=3))
    factories.dispatch_acknowledges(incident.id)   # the dispatch centre acknowledges at once
    incidents.respond(incident.id, actor, responder="张伟", emergency_response=major)
    incidents.set_responsibility(incident.id, actor, [ResponsibilityEntry(category="technical",
                                                                          sub_cause="equipment_failure",
                                                                          party="网络部", share=100)])
    clock.move_to(RECOVERED)
    incidents.recover(incident.id, actor, summary="更换主控板后恢复")
    return incident.id


def page_of(browser, incident_id: int) -> str:
    response = browser.get(f"/incidents/{incident_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start:html.index("</section>", start)]


# --- deadlines -------------------------------------------------------------------------------

def test_deadlines_panel_shows_each_deadline_with_local_due_time_state_and_time_left(operator, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    clock.move_to(RECOVERED + timedelta(minutes=15))  # 10:15 Shanghai
    panel = section(page_of(operator, incident_id), "deadlines")
    rows = panel.split("<tr class=")[1:]
    by_label = {row.split("<td>")[1].split("</td>")[0]: row for row in rows}
    assert list(by_label) == ["上报服务调度中心", "启动应急响应", "响应", "恢复", "恢复通知", "正式通知", "故障分析报告"]
    report = by_label["上报服务调度中心"]
    assert "2026-11-23 08:15" in report and "已超时" in report and "迟 15分完成" in report
    assert "已达标" in by_label["启动应急响应"] and "2026-11-23 08:30" in by_label["启动应急响应"]
    assert "已达标" in by_label["恢复"] and "完成 11-23 10:00" in by_label["恢复"]
    assert "待完成" in by_label["恢复通知"] and "2026-11-23 12:00" in by_label["恢复通知"]
    assert "剩余 1小时45分" in by_label["恢复通知"]
    assert "剩余 3小时45分" in by_label["正式通知"]
    assert "2026-11-24 10:00" in by_label["故障分析报告"] and "剩余 23小时45分" in by_label["故障分析报告"]


def test_cancelled_incident_shows_its_deadlines_cancelled(operator, manager):
    incident = incidents.declare(operator.user, title="误告警", services=["mobile_data"], regions=["杭州"],
                                 detected_at=DETECTED + timedelta(minutes=25))
    incidents.cancel(incident.id, manager.user, reason="监控误告警")
    body = section(page_of(operator, incident.id), "deadlines").split("<tbody>")[1]
    assert body.count("已取消") == 3  # report, response, recovery and "待完成" not in body and "剩余" not in body


def test_board_column_shows_the_next_deadline_and_is_red_when_breached(operator):
    # (the clock only moves forward here: the log-in session was signed at REPORTED)
    late = incidents.declare(operator.user, title="迟报的故障", services=["mobile_data"], regions=["杭州"],
                             detected_at=DETECTED)
    on_time = incidents.declare(operator.user, title="按时的故障", services=["broadband"], regions=["宁波"],
                                detected_at=REPORTED - timedelta(minutes=5))
    for incident in (on_time, late):
        incidents.report(incident.id, operator.user, fault_type="基站退服", scope_summary="全市",
                         estimated_recovery_at=REPORTED + timedelta(hours=3))
        factories.dispatch_acknowledges(incident.id)

    html = operator.get("/incidents").get_data(as_text=True)
    assert "<th>下一时限</th>" in html
    cells = {title: html[html.index(title):].split('<td class="deadline-cell', 1)[1].split("</td>", 1)[0]
             for title in ("迟报的故障", "按时的故障")}
    # both are level 3: the next deadline is the response (480 min from detection)
    assert "响应" in cells["按时的故障"] and "11-23 16:25" in cells["按时的故障"] and "剩余 7小时55分" in cells["按时的故障"]
    assert cells["按时的故障"].startswith('" data-overdue-scope>') and "超时" not in cells["按时的故障"]
    # the report was late but is done: a breach on record, no alarm; the next deadline is in time (not red)
    assert cells["迟报的故障"].startswith('" data-overdue-scope>') and "有超时记录" in cells["迟报的故障"]
    assert "11-23 16:00" in cells["迟报的故障"] and "剩余 7小时30分" in cells["迟报的故障"]

    breached_only = operator.get("/incidents?breached=1").get_data(as_text=True)
    assert "迟报的故障" in breached_only and "按时的故障" not in breached_only
    not_breached = operator.get("/incidents?breached=0").get_data(as_text=True)
    assert "按时的故障" in not_breached and "迟报的故障" not in not_breached


def test_board_cell_is_red_for_a_pending_deadline_past_due_before_any_judge(operator):
    # the report window ran out 5 minutes ago and no scheduler has judged it yet
    incidents.declare(operator.user, title="尚未上报", services=["mobile_data"], regions=["杭州"],
                      detected_at=REPORTED - timedelta(minutes=20))
    html = operator.get("/incidents").get_data(as_text=True)
    cell = html.split('<td class="deadline-cell', 1)[1].split("</td>", 1)[0]
    assert cell.startswith(' overdue"') and "上报服务调度中心" in cell and "已逾期 5分" in cell


# --- notices ---------------------------------------------------------------------------------

def test_notices_panel_counts_by_kind_and_status_and_flags_a_late_projection(operator, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    panel = section(page_of(operator, incident_id), "notices")
    assert "受影响用户 3 户" in panel
    counts = panel.split('class="compact notice-counts"')[1].split("</table>")[0]
    assert "<th class=\"num\">排队中</th>" in counts
    for kind in ("outage", "recovery", "survey"):
        row = counts.split(f'<tr class="notice-{kind}">')[1].split("</tr>")[0]
        assert row.count('<td class="num">3</td>') == 2, (kind, row)  # 3 queued, 3 in all
    progress = panel.split('class="compact notice-progress"')[1].split("</table>")[0]
    assert "恢复通知" in progress and "12:00" in progress  # due 2 h after the 10:00 recovery
    # freshly queued: no rate yet, so no projection — and no "预计超时" beside it
    assert '<tr class="">' in progress and "刚排队，待估计" in progress and "预计超时" not in progress
    assert "0 / 3" in progress and "无法估计" not in progress
    # two minutes on and still nothing accepted: the sending has stalled, which will miss the deadline
    clock.tick(timedelta(minutes=2))
    progress = section(page_of(operator, incident_id), "notices").split('class="compact notice-progress"')[1]
    assert '<tr class="late">' in progress and "发送停滞" in progress and "预计超时" in progress

    # two of three accepted in the last minute: the third is due in 30 s, well before 12:00
    first_two = select(Notice.id).where(Notice.incident_id == incident_id, Notice.kind == "recovery") \
        .order_by(Notice.id).limit(2).scalar_subquery()
    db.session.execute(update(Notice).where(Notice.id.in_(first_two))
                       .values(status="accepted", accepted_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    panel = section(page_of(operator, incident_id), "notices")
    progress = panel.split('class="compact notice-progress"')[1].split("</table>")[0]
    assert "预计超时" not in progress and "按时" in progress and "10:02" in progress and "2 / 3" in progress
    counts = panel.split('class="compact notice-counts"')[1].split("</table>")[0]
    recovery = counts.split('<tr class="notice-recovery">')[1].split("</tr>")[0]
    assert "<th class=\"num\">已受理</th>" in counts and '<td class="num">2</td>' in recovery


def formal_notices(incident_id: int) -> int:
    return len(db.session.scalars(select(Notice.id).where(Notice.incident_id == incident_id,
                                                         Notice.kind == "formal")).all())


def test_formal_notice_form_for_operator_and_manager_only(operator, manager, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    path = f"/incidents/{incident_id}"
    reviewer = browser_as(Role.reviewer)
    for browser in (operator, manager):
        assert 'class="formal-form"' in section(page_of(browser, incident_id), "notices")
    reviewer_panel = section(page_of(reviewer, incident_id), "notices")
    assert 'class="formal-form"' not in reviewer_panel and "须发送正式通知" in reviewer_panel

    response = reviewer.post(f"{path}/notices/formal", {"formal-explanation": "说明"}, token_from=path)
    assert response.status_code == 403 and formal_notices(incident_id) == 0
    response = operator.post(f"{path}/notices/formal", {"formal-explanation": "说明"}, with_token=False)
    assert response.status_code == 400 and formal_notices(incident_id) == 0
    response = operator.post(f"{path}/notices/formal", {"formal-explanation": "  "}, token_from=path)
    assert response.status_code == 422 and "必填" in response.get_data(as_text=True)
    assert formal_notices(incident_id) == 0

    response = operator.post(f"{path}/notices/formal", {"formal-explanation": "主控板故障导致中断，已更换并加强巡检。"},
                             token_from=path)
    assert response.status_code == 302
    assert formal_notices(incident_id) == 3
    page = page_of(operator, incident_id)
    assert "正式通知已排队发送，共 3 户" in page
    panel = section(page, "notices")
    assert 'class="formal-form"' not in panel and "正式通知已排队发送" in panel
    assert '<tr class="notice-formal">' in panel


def test_formal_notice_form_absent_for_a_non_major_or_unrecovered_incident(operator, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock, major=False)
    panel = section(page_of(operator, incident_id), "notices")
    assert "formal-form" not in panel and "正式通知" not in panel
    open_one = incidents.declare(operator.user, title="仍在处理", services=["mobile_data"], regions=["杭州"],
                                 major=True, major_reason="重大")
    assert "formal-form" not in section(page_of(operator, open_one.id), "notices")
    response = operator.post(f"/incidents/{open_one.id}/notices/formal", {"formal-explanation": "说明"},
                             token_from=f"/incidents/{open_one.id}", follow_redirects=True)
    assert "不允许执行「发送正式通知」" in response.get_data(as_text=True)
    assert formal_notices(open_one.id) == 0


# --- SMS preview -----------------------------------------------------------------------------

def test_update_form_shows_the_sms_text_and_segment_count(operator):
    incident = incidents.declare(operator.user, title="杭州移动数据中断", services=["mobile_data"], regions=["杭州"])
    path = f"/incidents/{incident.id}"
    html = page_of(operator, incident.id)
    preview_box = html.split('class="sms-preview"')[1].split("</form>")[0]
    assert f"【进展通报】{incident.number}：（进展内容） 咨询请拨10086。" in preview_box
    assert "<span data-sms-segments>1</span>" in preview_box and "UCS-2" in preview_box

    short = operator.post(f"{path}/sms-preview", {"message": "已派出抢修队"}, token_from=path).get_json()
    # 【进展通报】(6) + number (17) + ：(1) + message (6) + " 咨询请拨10086。" (11) = 41 → one segment of 70
    assert short["text"] == f"【进展通报】{incident.number}：已派出抢修队 咨询请拨10086。"
    assert (short["characters"], short["segments"], short["per_segment"], short["encoding"]) == (41, 1, 70, "UCS-2")
    long = operator.post(f"{path}/sms-preview", {"message": "测" * 70}, token_from=path).get_json()
    assert long["characters"] == 105 and long["segments"] == math.ceil(105 / 67) == 2 and long["per_segment"] == 67


def test_sms_preview_needs_csrf_and_login(operator, console_client):
    incident = incidents.declare(operator.user, title="t", services=["mobile_data"], regions=["杭州"])
    path = f"/incidents/{incident.id}/sms-preview"
    assert operator.post(path, {"message": "x"}, with_token=False).status_code == 400
    response = operator.client.post(path, data={"message": "x"}, headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    token = csrf_token_of(operator.get(f"/incidents/{incident.id}").get_data(as_text=True))
    assert operator.client.post(path, data={"message": "x"}, headers={"X-CSRFToken": token}).status_code == 200
    # without a session there is no token either: refused before anything is rendered
    anonymous = console_client.post(path, data={"message": "x"})
    assert anonymous.status_code == 400 and not anonymous.is_json
    # a valid token of a session that is not logged in (the log-in page's): sent to log in
    login_token = csrf_token_of(console_client.get("/login").get_data(as_text=True))
    anonymous = console_client.post(path, data={"message": "x"}, headers={"X-CSRFToken": login_token})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


# --- compensation ----------------------------------------------------------------------------

def test_compensation_panel_preview_then_final_with_csv(operator, manager, browser_as, subscribers, clock):
    incident_id = walk_to_recovery(operator.user, clock)
    accountability.add_rectification(incident_id, operator.user, title="主控板备件清点", owner="网络部",
                                     due_date=date(2026, 11, 20))
    accountability.add_rectification(incident_id, operator.user, title="基站巡检制度修订", owner="运维部",
                                     due_date=date(2026, 12, 31))
    panel = section(page_of(operator, incident_id), "compensation")
    # 2 h of a 720 h month at 100% operator share, ×1 (recovery in time): 72.00 → 0.20, 144.00 → 0.40;
    # 1 GB per started 4 h for each data subscriber
    assert "预览" in panel and "已结算" not in panel
    assert "3 / 3 户" in panel and "0.80 元" in panel and "3 GB" in panel
    assert "120 分钟" in panel and "运营商责任 100%" in panel and "倍数 1" in panel
    assert "2026.1" in panel
    assert panel.count("0.20 元") == 2 and panel.count("0.40 元") == 1
    assert "+8613800000001" not in panel  # phones masked
    assert "compensation.csv" not in panel
    rectifications = panel.split('class="rectifications"')[1]
    assert "主控板备件清点" in rectifications and "已逾期" in rectifications
    assert "基站巡检制度修订" in rectifications and "待整改" in rectifications

    path = f"/incidents/{incident_id}/compensation.csv"
    refused = operator.get(path, follow_redirects=True)
    assert "text/csv" not in refused.content_type and "下载补偿清单" in refused.get_data(as_text=True)

    reviewer = browser_as(Role.reviewer)
    reports.edit(incident_id, reviewer.user, {"preventive_measures": "备件前置"})
    reports.submit(incident_id, manager.user)
    send_formal_notice(incident_id)
    incidents.close(incident_id, manager.user)
    panel = section(page_of(operator, incident_id), "compensation")
    assert "已结算" in panel and "0.80 元" in panel and path in panel
    csv_response = operator.get(path)
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    lines = csv_response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("entry_id,incident_number,subscriber_id,phone")
    assert len(lines) == 4 and sorted(line.split(",")[8] for line in lines[1:]) == ["0.20", "0.20", "0.40"]


def test_compensation_csv_needs_login(operator, console_client):
    incident = incidents.declare(operator.user, title="t", services=["mobile_data"], regions=["杭州"])
    response = console_client.get(f"/incidents/{incident.id}/compensation.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_no_compensation_panel_while_the_outage_runs(operator):
    incident = incidents.declare(operator.user, title="t", services=["mobile_data"], regions=["杭州"])
    assert 'id="compensation"' not in page_of(operator, incident.id)


# --- analysis report -------------------------------------------------------------------------

def test_report_links_appear_at_recovery_with_the_report_state(operator, manager, browser_as, subscribers, clock):
    open_one = incidents.declare(operator.user, title="t", services=["mobile_data"], regions=["杭州"])
    assert "analysis-report" not in page_of(operator, open_one.id)
    refused = operator.get(f"/incidents/{open_one.id}/analysis-report.html", follow_redirects=True)
    assert "不允许执行「查看分析报告」" in refused.get_data(as_text=True)

    incident_id = walk_to_recovery(operator.user, clock)
    head = page_of(operator, incident_id).split('class="report-link"')[1].split('class="detail-grid"')[0]
    assert "故障分析报告" in head and "草稿" in head
    for fmt in ("html", "md", "pdf"):
        assert f"/incidents/{incident_id}/analysis-report.{fmt}" in head

    number = incidents.get_incident(incident_id).number
    html = operator.get(f"/incidents/{incident_id}/analysis-report.html")
    assert html.status_code == 200 and html.mimetype == "text/html" and number in html.get_data(as_text=True)
    md = operator.get(f"/incidents/{incident_id}/analysis-report.md")
    assert md.status_code == 200 and md.mimetype == "text/markdown" and number in md.get_data(as_text=True)
    pdf = operator.get(f"/incidents/{incident_id}/analysis-report.pdf")
    assert (pdf.status_code == 200 and pdf.data.startswith(b"%PDF")) or \
        (pdf.status_code == 503 and "PDF" in pdf.get_data(as_text=True))
    assert operator.get(f"/incidents/{incident_id}/analysis-report.doc").status_code == 404

    reviewer = browser_as(Role.reviewer)
    reports.edit(incident_id, reviewer.user, {"preventive_measures": "备件前置"})
    reports.submit(incident_id, manager.user)
    head = page_of(operator, incident_id).split('class="report-link"')[1].split('class="detail-grid"')[0]
    assert "已提交" in head and "提交 2026-11-23 10:00" in head
    send_formal_notice(incident_id)
    reports.approve(incident_id, reviewer.user)
    assert "已审核" in page_of(operator, incident_id).split('class="report-link"')[1]


def test_report_downloads_need_login(operator, subscribers, clock, app_ctx):
    incident_id = walk_to_recovery(operator.user, clock)
    anonymous = fresh_client(app_ctx)
    for fmt in ("html", "md", "pdf"):
        response = anonymous.get(f"/incidents/{incident_id}/analysis-report.{fmt}")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
