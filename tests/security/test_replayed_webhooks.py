"""Item 5 (replay): a captured, validly signed provider request posted again changes nothing.

Each test captures the exact request (URL, form, X-Twilio-Signature) the provider would send,
posts it once, and replays the same bytes."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.extensions import db
from app.notify.kinds import NoticeKind
from app.notify.statuses import OutboxStatus
from app.notify.models import Notice, SatisfactionScore
from app.subscribers.models import Subscriber
from tests import factories
from tests.notify.conftest import declare, no_outage_notice, operator, policy_with, recovered_incident  # noqa: F401

STATUS = "/api/v1/webhooks/sms/status"
INBOUND = "/api/v1/webhooks/sms/inbound"


@dataclass
class Captured:
    path: str
    form: dict
    signature: str

    def post(self, client):
        return client.post(self.path, data=self.form, headers={"X-Twilio-Signature": self.signature})


def capture(app, path: str, form: dict) -> Captured:
    token = app.extensions["noc_notify_settings"].auth_token
    return Captured(path, form, RequestValidator(token).compute_signature(f"http://localhost{path}", form))


def fresh(notice_id: int) -> Notice:
    db.session.expire_all()
    return db.session.get(Notice, notice_id)


@pytest.fixture
def accepted_notice(app_ctx, no_outage_notice, recovered_incident):  # noqa: F811
    """A recovery notice the provider accepted as message SMround0."""
    factories.subscribers(factories.phones(1))
    recovered_incident()
    notice = db.session.scalar(select(Notice).where(Notice.kind == NoticeKind.recovery))
    notice.status, notice.provider_sid, notice.attempts = OutboxStatus.accepted, "SMround0", 1
    db.session.commit()
    return notice.id


def test_a_replayed_30003_callback_does_not_requeue_the_notice_again(client, app_ctx, accepted_notice):
    undelivered = capture(app_ctx, f"{STATUS}?notice={accepted_notice}", {
        "MessageSid": "SMround0", "MessageStatus": "undelivered", "ErrorCode": "30003", "AccountSid": "AC1"})
    assert undelivered.post(client).status_code == 204
    assert (fresh(accepted_notice).status, fresh(accepted_notice).delivery_round) == (OutboxStatus.queued, 1)
    for _ in range(2):                                   # while it waits to be sent again …
        assert undelivered.post(client).status_code == 204
    assert (fresh(accepted_notice).status, fresh(accepted_notice).delivery_round) == (OutboxStatus.queued, 1)
    notice = fresh(accepted_notice)
    notice.status, notice.claim_token = OutboxStatus.sending, "claim-1"   # … while a sender holds it …
    db.session.commit()
    undelivered.post(client)
    assert (fresh(accepted_notice).status, fresh(accepted_notice).claim_token) == (OutboxStatus.sending, "claim-1")
    notice = fresh(accepted_notice)
    notice.status, notice.provider_sid, notice.attempts = OutboxStatus.accepted, "SMround1", 2   # … and once accepted
    db.session.commit()
    for _ in range(4):
        assert undelivered.post(client).status_code == 204
    after = fresh(accepted_notice)
    assert (after.status, after.delivery_round, after.provider_sid) == (OutboxStatus.accepted, 1, "SMround1")


def test_a_late_status_of_the_ended_round_does_not_adopt_the_requeued_notice(client, app_ctx, accepted_notice):
    capture(app_ctx, f"{STATUS}?notice={accepted_notice}", {
        "MessageSid": "SMround0", "MessageStatus": "undelivered", "ErrorCode": "30003"}).post(client)
    late = capture(app_ctx, f"{STATUS}?notice={accepted_notice}", {"MessageSid": "SMround0", "MessageStatus": "sent"})
    assert late.post(client).status_code == 204
    after = fresh(accepted_notice)
    assert (after.status, after.provider_sid) == (OutboxStatus.queued, None)


def test_a_replayed_delivery_callback_is_applied_once(client, app_ctx, accepted_notice):
    delivered = capture(app_ctx, f"{STATUS}?notice={accepted_notice}",
                        {"MessageSid": "SMround0", "MessageStatus": "delivered"})
    for _ in range(3):
        assert delivered.post(client).status_code == 204
    assert fresh(accepted_notice).status == OutboxStatus.delivered


def test_a_captured_start_replayed_after_a_later_stop_does_not_opt_back_in(client, app_ctx):
    (subscriber,) = factories.subscribers(["+8613800000041"], opted_out=True)
    start = capture(app_ctx, INBOUND, {"From": subscriber.phone, "Body": "START", "MessageSid": "SMin1"})
    stop = capture(app_ctx, INBOUND, {"From": subscriber.phone, "Body": "STOP", "MessageSid": "SMin2"})
    assert "重新订阅" in start.post(client).get_data(as_text=True)
    assert "退订" in stop.post(client).get_data(as_text=True)
    replayed = start.post(client)
    assert replayed.status_code == 200 and "<Message>" not in replayed.get_data(as_text=True)  # no reply SMS either
    db.session.expire_all()
    assert db.session.get(Subscriber, subscriber.id).opted_out_at is not None


def test_an_opt_change_older_than_the_last_applied_one_is_not_applied(client, app_ctx):
    from datetime import timedelta

    from freezegun import freeze_time

    from app.clock import utcnow

    (subscriber,) = factories.subscribers(["+8613800000042"])
    received = utcnow()
    with freeze_time(received + timedelta(seconds=5)):
        capture(app_ctx, INBOUND, {"From": subscriber.phone, "Body": "STOP", "MessageSid": "SMlater"}).post(client)
    # Another web process, whose clock reads earlier, judges a START only now.
    with freeze_time(received):
        capture(app_ctx, INBOUND, {"From": subscriber.phone, "Body": "START", "MessageSid": "SMearlier"}).post(client)
    db.session.expire_all()
    assert db.session.get(Subscriber, subscriber.id).opted_out_at is not None


def test_a_replayed_survey_answer_is_stored_once(client, app_ctx, no_outage_notice, recovered_incident):  # noqa: F811
    (subscriber,) = factories.subscribers(["+8613800000043"])
    recovered_incident()
    survey = db.session.scalar(select(Notice).where(Notice.kind == NoticeKind.survey))
    survey.status, survey.provider_sid = OutboxStatus.delivered, "SMsurvey"
    db.session.commit()
    answer = capture(app_ctx, INBOUND, {"From": subscriber.phone, "Body": "4", "MessageSid": "SMscore"})
    changed_mind = capture(app_ctx, INBOUND, {"From": subscriber.phone, "Body": "2", "MessageSid": "SMscore2"})
    answer.post(client)
    changed_mind.post(client)
    answer.post(client)   # the captured first answer again
    assert db.session.scalar(select(func.count(SatisfactionScore.incident_id))) == 1
    assert db.session.scalar(select(SatisfactionScore.score)) == 2
