"""One escalation path per warning or breach (RULES §9): a warning escalates as a breach does; tier 2
is paged once whichever rule raises it; an acknowledgement is one timeline kind whatever the channel;
tier 3 still silent is phoned once."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.auth.service import issue_token
from app.extensions import db
from app.incidents.models import TimelineEvent
from app.oncall import escalation
from app.oncall.models import OncallCall, OncallEscalation, Tier
from app.scheduling.judge import judge_due
from app.scheduling.models import Deadline
from app.staff.models import StaffAlert
from tests import factories
from tests.conftest import ApiClient
from tests.notify.helpers import signed_post
from tests.oncall.test_escalation import INBOUND, PHONES, roster  # noqa: F401 - the fixture
from tests.scheduling.walk import T0, minutes, report


def deadline_id(incident_id: int, kind: str) -> int:
    return db.session.scalar(select(Deadline.id).where(Deadline.incident_id == incident_id, Deadline.kind == kind))


def alerts_to(user_id: int, deadline_id: int) -> list[str]:
    return list(db.session.scalars(select(StaffAlert.kind).where(
        StaffAlert.user_id == user_id, StaffAlert.dedupe_key.startswith(f"deadline:{deadline_id}:"))
        .order_by(StaffAlert.id)))


def chain(deadline_id: int, cause: str) -> list[int]:
    return list(db.session.scalars(select(OncallEscalation.tier).where(
        OncallEscalation.deadline_id == deadline_id, OncallEscalation.cause == cause).order_by(OncallEscalation.tier)))


def events(kind: str) -> list[TimelineEvent]:
    return list(db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == kind).order_by(TimelineEvent.id)))


def test_tier_two_is_paged_once_whichever_rule_comes_first(operator_api, roster):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)     # report due T0+15, escalate_at T0+45
        report_deadline = deadline_id(incident["id"], "report")
        for moment in (16, 31, 46, 47, 61, 120):
            frozen.move_to(T0 + minutes(moment))
            judge_due()
    assert alerts_to(roster[Tier.department_head].id, report_deadline) == ["oncall_escalation"]
    assert chain(report_deadline, "breach") == [1, 2, 3]
    assert not any(e.after.get("kind") == "report" for e in events("deadline_escalated"))


def test_a_warning_alerts_tier_one_and_climbs_to_a_voice_call(operator_api, roster):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(1))
        report(operator_api, incident["id"])                           # the 15-minute window is met
        response = db.session.get(Deadline, deadline_id(incident["id"], "response"))
        warned_at = response.warn_at
        for step in (0, 15, 30, 45, 46, 60):
            frozen.move_to(warned_at + minutes(step))
            judge_due()
        assert response.due_at > warned_at + minutes(60)   # still only warned
    people = {tier: user.id for tier, user in roster.items()}
    assert alerts_to(people[Tier.duty_manager], response.id) == ["deadline_warning"]
    assert alerts_to(people[Tier.department_head], response.id) == ["oncall_escalation"]
    assert alerts_to(people[Tier.command_center], response.id) == ["oncall_escalation"]
    assert chain(response.id, "warning") == [1, 2, 3] and chain(response.id, "breach") == []
    (call,) = db.session.scalars(select(OncallCall))
    assert call.user_id == people[Tier.command_center] and call.status == "queued" and "预警" in call.message
    (line,) = events("oncall_voice_call")
    assert line.incident_id == incident["id"] and line.after["cause"] == "warning"
    message = db.session.scalar(select(StaffAlert.message).where(StaffAlert.user_id == people[Tier.department_head]))
    assert "时限预警告警" in message


def test_a_warning_chain_stops_once_its_deadline_is_met(operator_api, roster):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(1))
        report(operator_api, incident["id"])
        response = db.session.get(Deadline, deadline_id(incident["id"], "response"))
        frozen.move_to(response.warn_at)
        judge_due()
        assert operator_api.post(f"/incidents/{incident['id']}/respond",
                                 json={"responder": "张伟", "emergency_response": False}).status_code == 200
        for step in (15, 30, 45):
            frozen.move_to(response.warn_at + minutes(step))
            judge_due()
    assert chain(response.id, "warning") == [1]


@pytest.mark.parametrize("channel", ["sms", "console"])
def test_one_acknowledgement_kind_with_its_channel(operator_api, roster, client, app_ctx, channel):
    tier_one = roster[Tier.duty_manager]
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
        if channel == "sms":
            signed_post(client, app_ctx, INBOUND, {"From": PHONES[Tier.duty_manager], "Body": "1", "MessageSid": "SMa"})
        else:
            db.session.commit()
            api = ApiClient(client, issue_token(tier_one))
            db.session.commit()
            (alert,) = api.get("/staff-alerts").json["items"]
            assert api.post(f"/staff-alerts/{alert['id']}/acknowledge").status_code == 200
    assert events("oncall_acknowledged") == []
    (line,) = events("staff_alert_acknowledged")
    assert line.incident_id == incident["id"] and line.actor_id == tier_one.id
    assert line.after["channel"] == channel and line.after["escalation_stopped_at_tier"] == 1
    assert ("短信回复" if channel == "sms" else "控制台") in line.message and "值班经理" in line.message
    assert db.session.scalar(select(func.count()).select_from(StaffAlert).where(
        StaffAlert.acknowledged_at.is_(None), StaffAlert.user_id == tier_one.id)) == 0


def test_the_voice_call_is_placed_once_through_the_calls_api(operator_api, roster, gateway, sender, monkeypatch):
    with freeze_time(T0) as frozen:
        factories.declared(operator_api, detected_at=T0)
        for moment in (16, 31, 46, 61, 62):
            frozen.move_to(T0 + minutes(moment))
            judge_due()
    (call,) = db.session.scalars(select(OncallCall))
    assert call.user_id == roster[Tier.command_center].id
    from app.oncall import calls

    real = calls.record_attempt

    def die_after_placing(*_args, **_kwargs):
        raise RuntimeError("sender killed after the provider took the call")

    monkeypatch.setattr(calls, "record_attempt", die_after_placing)
    with pytest.raises(RuntimeError):        # staff alerts first, then the call: it dies on recording
        for _ in range(10):
            sender.run_once()
    monkeypatch.setattr(calls, "record_attempt", real)
    placed = list(gateway.gateway.calls.values())
    assert len(placed) == 1 and placed[0]["to"] == PHONES[Tier.command_center]
    assert '<Say language="zh-CN"' in placed[0]["twiml"] and "请立即处理" in placed[0]["twiml"]
    db.session.rollback()
    assert db.session.get(OncallCall, call.id).status == "sending"
    with freeze_time(datetime.now().astimezone() + timedelta(seconds=61)):   # the dead sender's lease runs out
        assert sender.run_once() == 1
    db.session.rollback()
    call = db.session.get(OncallCall, call.id)
    assert call.status == "sent" and call.provider_sid == placed[0]["sid"] and call.in_doubt_since is None
    assert gateway.gateway.call_requests_seen == 1 and gateway.gateway.call_lookups_seen == 1   # looked up, not re-placed
