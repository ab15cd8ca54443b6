"""The sender against the local gateway, through the real twilio library."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.notify.kinds import NoticeKind
from app.notify.fulfilment import recovery_notices_accepted
from app.notify.models import Notice, NoticeBatch
from app.scheduling.models import Deadline
from app.staff.service import alert_on_call_duty_managers
from app.subscribers.models import Subscriber
from tests import factories
from tests.notify.helpers import drain


def recovery_rows() -> list[Notice]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(Notice.kind == NoticeKind.recovery).order_by(Notice.id)))


def test_every_recovery_notice_is_accepted_once_and_the_deadline_is_met(
        app_ctx, recovered_incident, gateway, sender):
    factories.subscribers(factories.phones(120))
    factories.subscribers(factories.phones(3, start=600), language="en")
    incident = recovered_incident()
    assert not recovery_notices_accepted(incident)
    drain(sender)

    rows = recovery_rows()
    assert len(rows) == 123 and {r.status for r in rows} == {"accepted"}
    messages = {m["sid"]: m for m in gateway.gateway.messages.values()}
    assert {r.provider_sid for r in rows} <= set(messages)
    by_notice = {m["status_callback"]: m for m in messages.values()}
    for row in rows:
        message = by_notice[f"{sender.settings.public_base_url}/api/v1/webhooks/sms/status?notice={row.id}"]
        assert message["sid"] == row.provider_sid
        # validity_period: the seconds left before the 2 h recovery-notice deadline
        assert 7000 <= int(message["validity_period"]) <= 7200
    sent = [by_notice[f"{sender.settings.public_base_url}/api/v1/webhooks/sms/status?notice={r.id}"] for r in rows]
    assert sum(m["body"].startswith("Restored") for m in sent) == 3      # the English-speaking subscribers
    assert sum("【恢复通知】" in m["body"] and incident.number in m["body"] for m in sent) == 120
    assert recovery_notices_accepted(incident)
    batch = db.session.scalar(select(NoticeBatch).where(NoticeBatch.kind == NoticeKind.recovery))
    assert batch.fulfilled_at == max(r.accepted_at for r in rows)
    deadline = db.session.scalar(select(Deadline).where(Deadline.incident_id == incident.id,
                                                        Deadline.kind == "recovery_notice"))
    assert (deadline.state, deadline.met_at) == ("met", batch.fulfilled_at)


def test_transient_failures_are_retried_with_back_off(app_ctx, no_outage_notice, recovered_incident, gateway, sender):
    # The gateway answers …0429 with HTTP 429 twice and …0500 with HTTP 500 twice, then accepts.
    factories.subscribers(["+8613800000429", "+8613800000500", "+8613800000001"])
    recovered_incident()
    sender.run_once()
    rows = {r.subscriber_id: r for r in recovery_rows()}
    waiting = [r for r in rows.values() if r.status == "queued"]
    assert sorted(r.error_code for r in waiting) == ["20429", "20500"]
    assert all(r.attempts == 1 for r in waiting)
    drain(sender)
    rows = recovery_rows()
    assert {r.status for r in rows} == {"accepted"}
    assert sorted(r.attempts for r in rows) == [1, 3, 3]
    assert len(gateway.gateway.messages) == 3  # the survey waits an hour


def test_retries_stop_after_the_configured_attempts(app_ctx, recovered_incident, gateway, sender_settings):
    from app.notify.sender import Sender

    gateway.gateway.add_failure("0777", 500, None)      # always 500
    factories.subscribers(["+8613800000777"])
    recovered_incident()
    sender = Sender(app_ctx, sender_settings.with_(max_attempts=3))
    drain(sender)
    (row,) = recovery_rows()
    assert row.status == "failed" and row.error_code == "20500" and row.attempts == 3


def test_permanent_failures_are_recorded_and_21610_opts_the_subscriber_out(
        app_ctx, recovered_incident, gateway, sender):
    invalid, unsubscribed, fine = factories.subscribers(["+8613800021211", "+8613800021610", "+8613800000002"])
    recovered_incident()
    drain(sender)
    rows = {r.subscriber_id: r for r in recovery_rows()}
    assert (rows[invalid.id].status, rows[invalid.id].error_code) == ("failed", "21211")
    assert (rows[unsubscribed.id].status, rows[unsubscribed.id].error_code) == ("failed", "21610")
    assert rows[fine.id].status == "accepted"
    opted = db.session.get(Subscriber, unsubscribed.id)
    assert opted.opted_out_at is not None and opted.opted_out_source == "carrier_21610"
    assert db.session.get(Subscriber, invalid.id).opted_out_at is None
    # permanent failures are finished: the deadline is not held open by them
    batch = db.session.scalar(select(NoticeBatch).where(NoticeBatch.kind == NoticeKind.recovery))
    assert batch.fulfilled_at is not None


def test_a_subscriber_who_opted_out_after_queuing_gets_nothing(app_ctx, recovered_incident, gateway, sender):
    (subscriber,) = factories.subscribers(["+8613800000003"])
    recovered_incident()
    subscriber = db.session.get(Subscriber, subscriber.id)
    subscriber.opted_out_at = datetime.now().astimezone()
    db.session.commit()
    drain(sender)
    (row,) = recovery_rows()
    assert (row.status, row.error_code) == ("failed", "opted_out")
    assert gateway.gateway.requests_seen == 0


def test_staff_alerts_go_out_before_subscriber_notices(app_ctx, make_user, recovered_incident, gateway, sender):
    make_user(Role.duty_manager, phone="+8613900000001", on_call=True)
    factories.subscribers(factories.phones(5))
    incident = recovered_incident()
    alert_on_call_duty_managers(incident, "deadline_breach", "恢复时限已超时", dedupe_key="test:breach")
    db.session.commit()
    drain(sender)
    order = [m["to"] for m in gateway.gateway.messages.values()]
    assert order[0] == "+8613900000001" and len(order) == 1 + 5 + 5
    from app.staff.models import StaffAlert

    alert = db.session.scalar(select(StaffAlert))
    assert alert.status == "sent" and alert.provider_sid.startswith("SM")


def _die_mid_send(sender, outbox, rows_sent_before_death: int, load) -> list:
    """A sender claims everything (with a lease already over), hands some messages to the
    provider and dies before recording them. Returns the SIDs the provider holds."""
    from app.clock import utcnow
    from app import claims

    db.session.commit()
    ids = claims.claim(outbox, "dead-sender", utcnow(), -1, 100)
    db.session.commit()
    outgoing = load(ids)
    client = sender.clients.get()
    return [client.messages.create(to=o.phone, body=o.body, status_callback=o.callback,
                                   from_=sender.settings.from_number).sid for o in outgoing[:rows_sent_before_death]]


def test_an_expired_claim_is_looked_up_at_the_provider_and_never_sent_twice(
        app_ctx, no_outage_notice, recovered_incident, gateway, sender):
    from app import claims

    gateway.gateway.idempotent = False        # like Twilio: only the look-up can prevent a second SMS
    factories.subscribers(factories.phones(4))
    recovered_incident()
    held = _die_mid_send(sender, claims.NOTICES, 2, lambda ids: sender._load_notices("dead-sender", ids))
    assert gateway.gateway.requests_seen == 2
    drain(sender)
    rows = recovery_rows()
    assert {r.status for r in rows} == {"accepted"} and not any(r.in_doubt_since for r in rows)
    assert set(held) <= {r.provider_sid for r in rows}                      # adopted, not re-sent
    assert gateway.gateway.requests_seen == 4 and len(gateway.gateway.messages) == 4
    assert sorted(m["to"] for m in gateway.gateway.messages.values()) == sorted(factories.phones(4))
    assert gateway.gateway.lookups_seen == 4                                  # every in-doubt notice asked


def test_staff_alerts_have_the_same_lease_and_look_up(app_ctx, make_user, recovered_incident, gateway, sender):
    from app import claims
    from app.notify.sender import Outgoing
    from app.staff.models import StaffAlert

    gateway.gateway.idempotent = False
    make_user(Role.duty_manager, phone="+8613900000001", on_call=True)
    make_user(Role.duty_manager, phone="+8613900000002", on_call=True)
    incident = recovered_incident()
    alert_on_call_duty_managers(incident, "deadline_breach", "恢复时限已超时", dedupe_key="test:breach")

    def load(ids):
        alerts = db.session.scalars(select(StaffAlert).where(StaffAlert.id.in_(ids)).order_by(StaffAlert.id)).all()
        return [Outgoing(id=a.id, phone=_phone(a), body=a.message,
                         segments=1, deadline_at=None, callback=f"http://x/status?staff_alert={a.id}")
                for a in alerts]

    (held,) = _die_mid_send(sender, claims.STAFF_ALERTS, 1, load)
    assert sender.run_once() == 2           # the expired claims are released and handled first
    alerts = db.session.scalars(select(StaffAlert).order_by(StaffAlert.id)).all()
    assert [a.status for a in alerts] == ["sent", "sent"] and alerts[0].provider_sid == held
    assert sorted(m["to"] for m in gateway.gateway.messages.values()) == ["+8613900000001", "+8613900000002"]


def _phone(alert) -> str:
    from app.auth.models import User

    return db.session.get(User, alert.user_id).phone


def test_a_crash_while_recording_a_chunk_undoes_the_whole_record_and_nothing_is_sent_twice(
        app_ctx, no_outage_notice, recovered_incident, gateway, sender, monkeypatch):
    """A chunk's outcomes are one statement in one transaction: a sender dying after the
    provider accepted the chunk, mid-record, leaves every row claimed; once the lease is over
    they are looked up at the provider and adopted, never sent again."""
    import pytest

    from app.notify import sender as sender_module

    gateway.gateway.idempotent = False        # like Twilio: only the look-up can prevent a second SMS
    factories.subscribers(factories.phones(4))
    recovered_incident()
    db.session.commit()
    sender.settings = sender.settings.with_(lease_seconds=-1)   # every claim is over as soon as it is made

    def die(batch_ids):
        raise RuntimeError("the sender dies while recording")

    monkeypatch.setattr(sender_module, "check_fulfilment", die)   # after the chunk's UPDATE, before the commit
    with pytest.raises(RuntimeError):
        sender.run_once()
    assert gateway.gateway.requests_seen == 4
    assert {r.status for r in recovery_rows()} == {"sending"} and not any(r.provider_sid for r in recovery_rows())
    monkeypatch.undo()
    drain(sender)
    rows = recovery_rows()
    assert {r.status for r in rows} == {"accepted"} and all(r.provider_sid for r in rows)
    assert gateway.gateway.requests_seen == 4 and len(gateway.gateway.messages) == 4   # adopted, not re-sent
    assert gateway.gateway.lookups_seen == 4
