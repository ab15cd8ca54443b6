"""Feedback, follow-up, closure and appeals (申诉): the order is enforced, with 409 naming the state."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from freezegun import freeze_time
from sqlalchemy import func, select

from app.complaints.models import ComplaintEvent
from app.extensions import db
from tests.complaints.helpers import act, at, deadlines, register

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def history_length(complaint_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ComplaintEvent)
                             .where(ComplaintEvent.complaint_id == complaint_id))


def test_appeal_before_a_result_and_feedback_twice_are_409_and_change_nothing(api_as):
    agent = api_as("agent")
    complaint = register(agent)
    before = history_length(complaint["id"])
    refused = act(agent, complaint["id"], "appeal", 409, reason="不满意")
    assert refused["state"] == "registered" and "registered" in refused["message"]
    assert history_length(complaint["id"]) == before
    act(agent, complaint["id"], "feedback", result="已退款 20 元", send_sms=False)
    after_feedback = history_length(complaint["id"])
    again = act(agent, complaint["id"], "feedback", 409, result="再退一次")
    assert again["state"] == "fed_back"
    detail = agent.get(f"/complaints/{complaint['id']}").json
    assert detail["result"] == "已退款 20 元" and history_length(complaint["id"]) == after_feedback
    assert act(agent, complaint["id"], "close", 409)["state"] == "fed_back"  # the follow-up comes first


def test_the_whole_loop_with_an_appeal_accepted_before_national_day(api_as):
    """Appeal accepted Wed 2026-09-30 10:00: investigation due 10-13, review 10-20, closure 10-27 (10:00)."""
    agent, other_manager = api_as("agent"), api_as("duty_manager")
    with freeze_time(local("2026-09-28T09:00")) as clock:
        complaint = register(agent, category="other")
        act(agent, complaint["id"], "feedback", result="设备已更换", send_sms=False)
        clock.move_to(local("2026-09-29T09:00"))
        followed = act(agent, complaint["id"], "follow-up", satisfaction=2)
        assert followed["satisfaction"] == 2 and deadlines(agent, complaint["id"])["follow_up"]["state"] == "met"
        act(agent, complaint["id"], "close")
        clock.move_to(local("2026-09-30T10:00"))
        appealed = act(agent, complaint["id"], "appeal", reason="设备仍有问题")
        assert appealed["status"] == "appealed" and appealed["closed_at"] is None
        assert act(agent, complaint["id"], "appeal", 409, reason="再申诉")["state"] == "appealed"
        limits = deadlines(agent, complaint["id"])
        assert at(limits["appeal_investigation"]["due_at"]) == local("2026-10-13T10:00")
        assert at(limits["appeal_review"]["due_at"]) == local("2026-10-20T10:00")
        assert at(limits["appeal_close"]["due_at"]) == local("2026-10-27T10:00")
        clock.move_to(local("2026-10-09T10:00"))
        act(agent, complaint["id"], "investigate", findings="复测信号正常，终端故障")
        assert act(agent, complaint["id"], "close", 409)["state"] == "appeal_investigated"  # review first
        assert act(agent, complaint["id"], "appeal/review", 403, result="维持")["code"] == 403  # agents do not review
        clock.move_to(local("2026-10-16T10:00"))
        reviewed = act(other_manager, complaint["id"], "appeal/review", result="维持原处理，另赠话费 10 元")
        assert reviewed["status"] == "appeal_reviewed"
        act(agent, complaint["id"], "close")
        limits = deadlines(agent, complaint["id"])
    assert {k: limits[k]["state"] for k in ("appeal_investigation", "appeal_review", "appeal_close")} == \
        {"appeal_investigation": "met", "appeal_review": "met", "appeal_close": "met"}
    kinds = [e["kind"] for e in agent.get(f"/complaints/{complaint['id']}/timeline").json]
    assert kinds == ["registered", "fed_back", "followed_up", "closed", "appeal_accepted", "appeal_investigated",
                     "appeal_reviewed", "closed"]


def test_the_owner_may_not_review_their_own_appeal(api_as):
    manager = api_as("duty_manager")
    complaint = register(manager)
    act(manager, complaint["id"], "feedback", result="已处理", send_sms=False)
    act(manager, complaint["id"], "appeal", reason="不服")
    refused = act(manager, complaint["id"], "appeal/review", 403, result="维持")
    assert "owner" in refused["message"]
