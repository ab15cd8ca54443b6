"""Deadline alerts follow the roster: warnings and breaches to tier 1 on duty at that moment, the
still-unmet escalation to tier 2; with nobody rostered, the on-call duty managers as before."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.oncall import service as oncall
from app.oncall.models import Tier
from app.scheduling.judge import judge_due
from app.staff.models import StaffAlert
from tests import factories
from tests.scheduling.walk import T0, minutes


def recipients(kind: str) -> set[int]:
    return set(db.session.scalars(select(StaffAlert.user_id).where(StaffAlert.kind == kind)))


def test_breach_goes_to_tier_one_on_duty_then_escalation_to_tier_two(operator_api, make_user):
    on_call, _ = make_user(Role.duty_manager, on_call=True, phone="+8613800138000")
    morning, _ = make_user(Role.duty_manager, phone="+8613800138001")
    afternoon, _ = make_user(Role.duty_manager, phone="+8613800138002")
    head, _ = make_user(Role.reviewer, phone="+8613800138003")
    handover = T0 + minutes(14)   # report: warned at T0 + 12 min, due at T0 + 15 min
    oncall.replace_roster(T0 - timedelta(hours=1), T0 + timedelta(days=1), [
        oncall.ShiftInput(morning.id, Tier.duty_manager, T0 - timedelta(hours=1), handover),
        oncall.ShiftInput(afternoon.id, Tier.duty_manager, handover, T0 + timedelta(hours=12)),
        oncall.ShiftInput(head.id, Tier.department_head, T0 - timedelta(hours=1), T0 + timedelta(hours=12)),
    ], morning)
    with freeze_time(T0) as frozen:
        factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(13))
        judge_due()            # warned before the handover: the morning shift
        frozen.move_to(T0 + minutes(16))
        judge_due()            # breached after it: the afternoon shift
        frozen.move_to(T0 + minutes(45))
        judge_due()
    assert recipients("deadline_warning") == {morning.id}
    assert recipients("deadline_breach") == {afternoon.id}
    assert recipients("escalation_tier2") == {head.id}


def test_empty_roster_falls_back_to_the_on_call_duty_managers(operator_api, make_user):
    on_call, _ = make_user(Role.duty_manager, on_call=True, phone="+8613800138000")
    make_user(Role.duty_manager, phone="+8613800138001")   # not on call, not rostered
    with freeze_time(T0) as frozen:
        factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + minutes(45))
        judge_due()
    assert recipients("deadline_breach") == {on_call.id}
    assert recipients("escalation_tier2") == {on_call.id}
