"""Messages to complainants through the real outbox, sender and local gateway; replies land on the right survey."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from app.extensions import db
from app.notify import statuses
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, SatisfactionScore
from tests import factories
from tests.complaints.helpers import STRANGER_PHONE, act, register, subscriber
from tests.notify.helpers import drain, signed_post
from tests.scheduling.walk import T0, recover, report, respond

INBOUND = "/api/v1/webhooks/sms/inbound"


def sent_to(gateway, phone: str) -> list[str]:
    return [m["body"] for m in gateway.gateway.messages.values() if m["to"] == phone]


def test_a_non_subscriber_is_acknowledged_answered_and_surveyed(client, app_ctx, api_as, gateway, sender):
    agent = api_as("agent")
    complaint = register(agent, phone=STRANGER_PHONE, category="business")
    drain(sender)
    (ack,) = sent_to(gateway, STRANGER_PHONE)
    assert ack.startswith("【投诉确认】") and complaint["number"] in ack and "反馈处理结果" in ack
    act(agent, complaint["id"], "feedback", result="套餐已变更。")
    act(agent, complaint["id"], "feedback", 409, result="重复")
    act(agent, complaint["id"], "follow-up")
    drain(sender)
    bodies = sorted(sent_to(gateway, STRANGER_PHONE))   # the sender's threads may send in any order
    assert len(bodies) == 3 and ack in bodies
    assert any("套餐已变更" in b for b in bodies) and any("回复数字1-5" in b for b in bodies)
    reply = signed_post(client, app_ctx, INBOUND, {"From": STRANGER_PHONE, "Body": "4", "MessageSid": "SMr"})
    assert reply.status_code == 200 and "感谢" in reply.get_data(as_text=True)
    detail = agent.get(f"/complaints/{complaint['id']}").json
    assert detail["satisfaction"] == 4
    assert agent.get(f"/complaints/{complaint['id']}/timeline").json[-1]["kind"] == "satisfaction_reply"
    assert db.session.scalar(select(Notice.subscriber_id).where(Notice.complaint_id == complaint["id"])) is None


def test_a_reply_answers_the_newest_survey_incident_or_complaint(client, app_ctx, api_as, operator_api,
                                                                 manager_api, gateway, sender):
    agent = api_as("agent")
    subscriber()
    with freeze_time(T0) as clock:
        incident = factories.declared(operator_api, detected_at=T0)
        report(operator_api, incident["id"])
        respond(operator_api, incident["id"], emergency=False)
        recover(manager_api, incident["id"])
        clock.move_to(T0 + timedelta(hours=2))   # the incident survey is held an hour after recovery
        drain(sender)
        clock.move_to(T0 + timedelta(hours=3))
        complaint = register(agent, category="other")
        act(agent, complaint["id"], "feedback", result="已处理。", send_sms=False)
        act(agent, complaint["id"], "follow-up")
        drain(sender)
        signed_post(client, app_ctx, INBOUND, {"From": "+8613900139000", "Body": "2"})
    assert db.session.scalar(select(Notice.status).where(Notice.kind == NoticeKind.survey)) in statuses.ACCEPTED_BY_PROVIDER
    assert agent.get(f"/complaints/{complaint['id']}").json["satisfaction"] == 2
    assert db.session.scalars(select(SatisfactionScore)).all() == []   # not counted against the incident
