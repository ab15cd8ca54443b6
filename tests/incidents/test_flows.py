"""Every transition's effects run from ``app.incidents.flows`` in a fixed order: the order in
which the application initialises its domains changes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

import app as app_package
from app import create_app
from app.auth.models import Role
from app.auth.service import create_user
from app.compensation import followup as compensation_followup
from app.compensation.models import CompensationEntry, CompensationLedger
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import TimelineEvent
from app.notify.models import Notice
from app.reports import service as reports
from app.scheduling.models import Deadline
from app.staff.models import StaffAlert
from tests import factories
from tests.conftest import _empty_all_tables
from tests.factories import send_formal_notice

DETECTED = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return DETECTED + timedelta(minutes=minutes)


def _init_domains_reversed(app) -> None:
    from app import notify, scheduling, web

    web.init_app(app)
    notify.init_app(app)
    scheduling.init_app(app)


def _add_subscribers() -> None:
    for number, (region, services, fee_fen) in enumerate([
        ("杭州", ["mobile_data"], 5800), ("杭州", ["mobile_data", "fixed_voice"], 12800),
        ("杭州", ["fixed_voice"], 29900), ("宁波", ["mobile_data"], 5800),
    ], start=1):
        factories.subscriber(f"+861380000000{number}", name="用户", region=region, services=services, fee_fen=fee_fen,
                             created_at=DETECTED)


def _drive_every_transition() -> None:
    """A major incident through every transition (late report, regrade, notices, closure) and a
    false alarm cancelled, through the service functions an operator's clicks call."""
    operator, _ = create_user("值班员", Role.operator)
    manager, _ = create_user("值班经理", Role.duty_manager, phone="+8613900000001", on_call=True)
    reviewer, _ = create_user("审核员", Role.reviewer)
    _add_subscribers()
    with freeze_time(at(5)):
        incident = incidents.declare(operator, title="杭州移动数据中断", services=["mobile_data", "fixed_voice"],
                                     regions=["杭州"], detected_at=DETECTED, major=True, major_reason="涉及医院")
        alarm = incidents.declare(operator, title="误报", services=["fixed_voice"], regions=["宁波"])
    with freeze_time(at(40)):
        incidents.report(incident.id, operator, fault_type="基站退服", scope_summary="西湖区",
                         estimated_recovery_at=at(240))
        incidents.cancel(alarm.id, manager, reason="告警误报")
    with freeze_time(at(60)):
        incidents.respond(incident.id, operator, responder="张伟", emergency_response=True)
        incidents.post_update(incident.id, operator, message="已派出抢修队", notify_subscribers=True)
        incidents.regrade(incident.id, manager, level=1 if incident.level != 1 else 2, reason="影响扩大")
    with freeze_time(at(180)):
        incidents.set_responsibility(incident.id, operator, [
            incidents.ResponsibilityEntry("technical", "equipment_failure", "本公司", 70),
            incidents.ResponsibilityEntry("external", "third_party_failure", "供电公司", 30)])
        incidents.recover(incident.id, operator, summary="更换主控板")
    with freeze_time(at(200)):
        reports.edit(incident.id, reviewer, {"preventive_measures": "增加主控板冗余"})
        reports.submit(incident.id, manager)
        send_formal_notice(incident.id)
        incidents.close(incident.id, manager)
        compensation_followup.queue_pending()  # the scheduler's follow-up: the compensation notices


def _outcome() -> dict:
    """What the transitions left in every domain, in a form two runs can compare."""
    def rows(*columns, order_by):
        return [tuple(r) for r in db.session.execute(select(*columns).order_by(*order_by))]

    return {
        "deadlines": rows(Deadline.incident_id, Deadline.kind, Deadline.state, Deadline.due_at, Deadline.met_at,
                          Deadline.breached_at, Deadline.cancelled_at, order_by=[Deadline.incident_id, Deadline.kind]),
        "notices": rows(Notice.incident_id, Notice.kind, Notice.sequence, Notice.subscriber_id, Notice.status,
                        Notice.next_attempt_at, order_by=[Notice.id]),
        "ledger": rows(CompensationEntry.incident_id, CompensationEntry.subscriber_id,
                       CompensationEntry.economic_credit_fen, CompensationEntry.data_credit_gb,
                       order_by=[CompensationEntry.id]),
        "ledger_headers": rows(CompensationLedger.incident_id, CompensationLedger.multiplier,
                               order_by=[CompensationLedger.incident_id]),
        "timeline": rows(TimelineEvent.incident_id, TimelineEvent.kind, TimelineEvent.message,
                         order_by=[TimelineEvent.id]),
        "staff_alerts": rows(StaffAlert.kind, StaffAlert.dedupe_key, order_by=[StaffAlert.id]),
    }


@pytest.fixture
def reordered_app(app_ctx, database_url, monkeypatch):
    monkeypatch.setattr(app_package, "_init_domains", _init_domains_reversed)
    application = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_domains_initialised_in_another_order_change_nothing(app_ctx, reordered_app):
    _drive_every_transition()
    as_shipped = _outcome()
    db.session.remove()
    _empty_all_tables()

    with reordered_app.app_context():
        _drive_every_transition()
        reordered = _outcome()
        db.session.remove()

    assert as_shipped == reordered
    # and the run did reach every domain: a real comparison, not two empty ones
    kinds = {kind for _, kind, *_ in as_shipped["timeline"]}
    assert {"deadline_met_late", "deadlines_recomputed", "compensation_finalised", "cancelled"} <= kinds
    assert {kind for _, kind, *_ in as_shipped["notices"]} >= {"outage", "progress", "recovery", "survey",
                                                               "compensation"}
    assert {state for _, _, state, *_ in as_shipped["deadlines"]} >= {"met", "breached", "cancelled"}
    assert as_shipped["ledger"] and as_shipped["staff_alerts"]
