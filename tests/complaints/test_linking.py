"""Linking service-quality complaints to the incident whose scope covers the complainant (RULES §8)."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from app.notify.models import Notice
from app.extensions import db
from tests import factories
from tests.complaints.helpers import STRANGER_PHONE, act, deadlines, register, subscriber
from tests.scheduling.walk import T0, recover, report, respond

QUALITY = {"category": "service_quality", "content": "手机上网时断时续"}


def _recovered_incident(operator_api, manager_api, at):
    incident = factories.declared(operator_api, detected_at=at)
    report(operator_api, incident["id"])
    respond(operator_api, incident["id"], emergency=False)
    return recover(manager_api, incident["id"])


def test_a_complaint_inside_an_open_incident_links_and_meets_the_investigation(operator_api, api_as):
    agent = api_as("agent")
    subscriber(region="杭州", services=("mobile_data", "broadband"))
    subscriber(phone="+8613900139001", region="宁波")
    with freeze_time(T0 + timedelta(minutes=5)):
        other = factories.declared(operator_api, services=["iptv"], regions=["杭州"])  # not a service the subscriber has
        incident = factories.declared(operator_api, estimated_recovery_at="2026-11-23T12:00:00+08:00")
        complaint = register(agent, **QUALITY)
        elsewhere = register(agent, phone="+8613900139001", **QUALITY)
        stranger = register(agent, phone=STRANGER_PHONE, **QUALITY)
        billing = register(agent, category="billing")
    assert complaint["incident_id"] == incident["id"] != other["id"]
    assert complaint["status"] == "investigated" and incident["number"] in complaint["investigation"]
    assert deadlines(agent, complaint["id"])["investigate"]["state"] == "met"
    assert elsewhere["incident_id"] is None and stranger["incident_id"] is None and billing["incident_id"] is None
    assert deadlines(agent, elsewhere["id"])["investigate"]["state"] == "pending"
    ack = db.session.scalar(select(Notice).where(Notice.complaint_id == complaint["id"]))
    from app.notify.models import NoticeText

    text = db.session.scalar(select(NoticeText.body).where(NoticeText.batch_id == ack.batch_id,
                                                           NoticeText.language == "zh-CN"))
    assert complaint["number"] in text and incident["number"] in text and "2026-11-23 12:00" in text
    detail = operator_api.get(f"/incidents/{incident['id']}").json
    assert detail["complaint_count"] == 1
    assert [c["id"] for c in agent.get(f"/complaints?incident_id={incident['id']}").json["items"]] == [complaint["id"]]


def test_recovered_within_72_hours_links_later_does_not(operator_api, manager_api, api_as):
    agent = api_as("agent")
    subscriber()
    with freeze_time(T0) as clock:
        incident = _recovered_incident(operator_api, manager_api, T0)
        clock.move_to(T0 + timedelta(hours=71))
        assert register(agent, **QUALITY)["incident_id"] == incident["id"]
        clock.move_to(T0 + timedelta(hours=73))
        assert register(agent, **QUALITY)["incident_id"] is None


def test_after_recovery_one_action_feeds_back_every_linked_complaint_once(operator_api, manager_api, api_as):
    agent = api_as("agent")
    subscriber()
    subscriber(phone="+8613900139002")
    with freeze_time(T0) as clock:
        incident = factories.declared(operator_api, detected_at=T0)
        first = register(agent, **QUALITY)
        second = register(agent, phone="+8613900139002", **QUALITY)
        early = agent.post(f"/incidents/{incident['id']}/complaints/feedback")
        assert early.status_code == 409 and early.json["state"] == "declared"
        report(operator_api, incident["id"])
        respond(operator_api, incident["id"], emergency=False)
        recover(manager_api, incident["id"])
        clock.move_to(T0 + timedelta(hours=2))
        done = agent.post(f"/incidents/{incident['id']}/complaints/feedback")
        again = agent.post(f"/incidents/{incident['id']}/complaints/feedback")
    assert done.json == {"fed_back": 2} and again.json == {"fed_back": 0}
    for complaint in (first, second):
        detail = agent.get(f"/complaints/{complaint['id']}").json
        assert detail["status"] == "fed_back" and incident["number"] in detail["result"]
        limits = {d["kind"]: d for d in detail["deadlines"]}
        assert limits["feedback"]["state"] == "met" and limits["written_feedback"]["state"] == "met"
        assert limits["follow_up"]["state"] == "pending"
        act(agent, complaint["id"], "feedback", 409, result="再次反馈")
    results = db.session.scalars(select(Notice).where(Notice.kind == "complaint_result")).all()
    assert sorted(n.complaint_id for n in results) == sorted([first["id"], second["id"]])
    assert {n.phone for n in results} == {"+8613900139000", "+8613900139002"}


def test_the_analysis_report_counts_the_complaints_the_incident_drew(operator_api, manager_api, api_as):
    agent = api_as("agent")
    subscriber()
    with freeze_time(T0):
        incident = factories.declared(operator_api, detected_at=T0)
        register(agent, **QUALITY)
        register(agent, **QUALITY)
        report(operator_api, incident["id"])
        respond(operator_api, incident["id"], emergency=False)
        recover(manager_api, incident["id"])
        markdown = operator_api.get(f"/incidents/{incident['id']}/analysis-report?format=md")
        html = operator_api.get(f"/incidents/{incident['id']}/analysis-report?format=html")
    text = markdown.get_data(as_text=True)
    assert markdown.status_code == 200 and "十、投诉情况" in text
    assert "本故障引发投诉 2 件（重复投诉 1 件）" in text and "待反馈 2 件" in text and "服务质量：2 件" in text
    assert "本故障引发投诉 2 件" in html.get_data(as_text=True)
