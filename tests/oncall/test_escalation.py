"""Tiered escalation of a breach through the roster (RULES §9): tier 1 with the breach, tier 2 and
then tier 3 when nobody acknowledged within the policy's minutes; an acknowledgement (an SMS reply
from a staff phone) stops it; each step exactly once across restarts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.service import issue_token
from app.extensions import db
from app.incidents.models import TimelineEvent
from app.notify.inbound import REPLY_ACKNOWLEDGED, REPLY_NOTHING_WAITING
from app.oncall import escalation
from app.oncall import service as oncall
from app.oncall.models import OncallEscalation, Tier
from app.scheduling import judge
from app.scheduling.judge import judge_due
from app.staff.models import StaffAlert, StaffAlertKind
from tests import factories
from tests.conftest import ApiClient
from tests.notify.helpers import signed_post
from tests.scheduling.walk import T0, minutes

INBOUND = "/api/v1/webhooks/sms/inbound"
PHONES = {Tier.duty_manager: "+8613800138001", Tier.department_head: "+8613800138002",
          Tier.command_center: "+8613800138003"}


@pytest.fixture
def roster(make_user):
    """One person on duty at each tier all day (plus an on-call duty manager who must not be paged)."""
    make_user(Role.duty_manager, on_call=True, phone="+8613800138000")
    people = {tier: make_user(Role.duty_manager, phone=phone)[0] for tier, phone in PHONES.items()}
    oncall.replace_roster(T0 - timedelta(hours=1), T0 + timedelta(days=1), [
        oncall.ShiftInput(user.id, tier, T0 - timedelta(hours=1), T0 + timedelta(hours=12))
        for tier, user in people.items()], people[Tier.duty_manager])
    return people


def paged(kind: str) -> list[int]:
    return list(db.session.scalars(select(StaffAlert.user_id).where(StaffAlert.kind == kind).order_by(StaffAlert.id)))


def steps() -> list[tuple[int, bool]]:
    return [(tier, acknowledged is not None) for tier, acknowledged in db.session.execute(
        select(OncallEscalation.tier, OncallEscalation.acknowledged_at).order_by(OncallEscalation.tier))]


def timeline(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(TimelineEvent).where(TimelineEvent.kind == kind))


def test_unacknowledged_breach_climbs_three_tiers_once_each(operator_api, roster):
    with freeze_time(T0) as frozen:
        factories.declared(operator_api, detected_at=T0)   # report due at T0 + 15 min
        frozen.move_to(T0 + minutes(16))
        judge_due()                                        # breach: tier 1
        frozen.move_to(T0 + minutes(31) - timedelta(seconds=1))
        judge_due()
        assert paged(escalation.ALERT_KIND) == []          # 15 minutes not yet over
        frozen.move_to(T0 + minutes(31))
        judge_due()                                        # tier 2
        frozen.move_to(T0 + minutes(46) - timedelta(seconds=1))
        judge_due()
        assert paged(escalation.ALERT_KIND) == [roster[Tier.department_head].id]
        for moment in (46, 61, 120):                       # tier 3, then nothing above it
            frozen.move_to(T0 + minutes(moment))
            judge_due()
    assert paged("deadline_breach") == [roster[Tier.duty_manager].id]
    assert paged(escalation.ALERT_KIND) == [roster[Tier.department_head].id, roster[Tier.command_center].id]
    assert steps() == [(1, False), (2, False), (3, False)]
    assert timeline("oncall_escalated") == 2


def test_acknowledgement_by_sms_at_tier_two_stops_the_escalation(operator_api, roster, client, app_ctx):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
        frozen.move_to(T0 + minutes(31))
        judge_due()                                        # tier 2 paged
        frozen.move_to(T0 + minutes(35))
        reply = signed_post(client, app_ctx, INBOUND, {"From": PHONES[Tier.department_head], "Body": " 确认 ",
                                                       "MessageSid": "SMack1"})
        assert reply.status_code == 200 and REPLY_ACKNOWLEDGED in reply.get_data(as_text=True)
        replayed = signed_post(client, app_ctx, INBOUND, {"From": PHONES[Tier.department_head], "Body": "确认",
                                                          "MessageSid": "SMack1"})
        assert REPLY_ACKNOWLEDGED not in replayed.get_data(as_text=True)
        for moment in (46, 61, 180):
            frozen.move_to(T0 + minutes(moment))
            judge_due()
    assert paged(escalation.ALERT_KIND) == [roster[Tier.department_head].id]   # tier 3 never paged
    assert steps() == [(1, True), (2, True)]
    (event,) = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "staff_alert_acknowledged"))
    assert event.incident_id == incident["id"] and event.actor_id == roster[Tier.department_head].id
    assert "部门负责人" in event.message
    (inbox,) = db.session.scalars(select(StaffAlert).where(StaffAlert.kind == escalation.ALERT_KIND))
    assert inbox.acknowledged_by == roster[Tier.department_head].id   # shown acknowledged in the inbox too
    again = signed_post(client, app_ctx, INBOUND, {"From": PHONES[Tier.department_head], "Body": "ok",
                                                   "MessageSid": "SMack2"})
    assert REPLY_NOTHING_WAITING in again.get_data(as_text=True)


def test_a_subscribers_1_is_not_an_acknowledgement(operator_api, roster, client, app_ctx):
    factories.subscribers(["+8613900000001"])
    with freeze_time(T0) as frozen:
        factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
        reply = signed_post(client, app_ctx, INBOUND, {"From": "+8613900000001", "Body": "1", "MessageSid": "SMsub"})
        assert reply.status_code == 200 and REPLY_ACKNOWLEDGED not in reply.get_data(as_text=True)
        frozen.move_to(T0 + minutes(31))
        judge_due()
    assert steps() == [(1, False), (2, False)]


def test_a_restart_mid_escalation_judges_each_step_once(operator_api, roster, monkeypatch):
    with freeze_time(T0) as frozen:
        factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
        frozen.move_to(T0 + minutes(31))
        real = escalation.staff.alert_on_call_duty_managers

        def crash(*_args, **_kwargs):
            raise RuntimeError("process killed while paging tier 2")

        monkeypatch.setattr(escalation.staff, "alert_on_call_duty_managers", crash)
        with pytest.raises(RuntimeError):
            judge_due()
        db.session.rollback()
        assert steps() == [(1, False)] and paged(escalation.ALERT_KIND) == []   # nothing half-done
        monkeypatch.setattr(escalation.staff, "alert_on_call_duty_managers", real)
        judge_due()        # the restarted scheduler's first pass
        judge_due()        # and a second judge racing it
        assert escalation.escalate_unacknowledged(T0 + minutes(31), judge.open_deadlines(), limit=10) == []
        db.session.commit()
        frozen.move_to(T0 + minutes(46))
        judge_due()
        judge_due()
    assert steps() == [(1, False), (2, False), (3, False)]
    assert paged(escalation.ALERT_KIND) == [roster[Tier.department_head].id, roster[Tier.command_center].id]
    assert timeline("oncall_escalated") == 2


def test_acknowledging_in_the_inbox_stops_the_chain(operator_api, roster, client):
    with freeze_time(T0) as frozen:
        factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(16))
        judge_due()
        tier_one = ApiClient(client, issue_token(roster[Tier.duty_manager]))
        db.session.commit()
        (alert,) = tier_one.get("/staff-alerts").json["items"]
        assert tier_one.post(f"/staff-alerts/{alert['id']}/acknowledge").status_code == 200
        for moment in (31, 44):
            frozen.move_to(T0 + minutes(moment))
            judge_due()
        assert steps() == [(1, True)] and paged(escalation.ALERT_KIND) == []   # the climb stopped
        for moment in (46, 61, 120):          # RULES §2: still unmet 30 min after the due time → tier 2, once
            frozen.move_to(T0 + minutes(moment))
            judge_due()
    assert steps() == [(1, True), (2, False)]
    assert paged(escalation.ALERT_KIND) == [] and paged(StaffAlertKind.escalation_tier2) == [roster[Tier.department_head].id]
    assert db.session.scalar(select(func.count()).select_from(OncallEscalation).where(
        OncallEscalation.tier == int(Tier.command_center))) == 0              # tier 3 is never reached
