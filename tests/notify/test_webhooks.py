"""Provider webhooks: signed or refused, statuses only forward, STOP/START and survey replies."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from waitress.server import create_server

from app.extensions import db
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, SatisfactionScore
from app.subscribers.models import Subscriber
from tests import factories
from tests.notify.helpers import drain, signed_post

STATUS = "/api/v1/webhooks/sms/status"
INBOUND = "/api/v1/webhooks/sms/inbound"


def status(client, app, notice: Notice, value: str, sid: str = "SMabc", **extra):
    return signed_post(client, app, f"{STATUS}?notice={notice.id}",
                       {"MessageSid": sid, "MessageStatus": value, "AccountSid": "AC1", **extra})


def fresh(notice: Notice) -> Notice:
    db.session.expire_all()
    return db.session.get(Notice, notice.id)


@pytest.fixture
def notice(app_ctx, no_outage_notice, recovered_incident):
    factories.subscribers(factories.phones(1))
    recovered_incident()
    return db.session.scalar(select(Notice).where(Notice.kind == NoticeKind.recovery))


def test_statuses_only_move_forward(client, app_ctx, notice):
    assert status(client, app_ctx, notice, "sent").status_code == 204
    assert (fresh(notice).status, fresh(notice).provider_sid) == ("sent", "SMabc")
    assert fresh(notice).accepted_at is not None
    assert status(client, app_ctx, notice, "delivered").status_code == 204
    assert status(client, app_ctx, notice, "sent").status_code == 204          # late
    assert status(client, app_ctx, notice, "queued").status_code == 204        # later still
    assert fresh(notice).status == "delivered"


def test_a_callback_for_another_message_of_the_notice_changes_nothing(client, app_ctx, notice):
    status(client, app_ctx, notice, "sent", sid="SMfirst")
    status(client, app_ctx, notice, "delivered", sid="SMother")
    assert (fresh(notice).status, fresh(notice).provider_sid) == ("sent", "SMfirst")


@pytest.mark.parametrize("signature", ["", "bm90LXRoZS1zaWduYXR1cmU=", "wrong-token"])
def test_bad_or_missing_signature_is_refused_and_changes_nothing(client, app_ctx, notice, signature):
    params = {"MessageSid": "SMabc", "MessageStatus": "delivered"}
    if signature == "wrong-token":
        response = signed_post(client, app_ctx, f"{STATUS}?notice={notice.id}", params, token="not-our-token")
    else:
        response = signed_post(client, app_ctx, f"{STATUS}?notice={notice.id}", params, signature=signature)
    assert response.status_code == 403
    assert (fresh(notice).status, fresh(notice).provider_sid) == ("queued", None)
    (subscriber,) = db.session.scalars(select(Subscriber)).all()
    refused = signed_post(client, app_ctx, INBOUND, {"From": subscriber.phone, "Body": "STOP"},
                          signature=signature or "", token="not-our-token" if signature == "wrong-token" else None)
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(Subscriber, subscriber.id).opted_out_at is None


def test_a_signature_for_other_parameters_is_refused(client, app_ctx, notice):
    url = f"http://localhost{STATUS}?notice={notice.id}"
    signature = RequestValidator(app_ctx.extensions["noc_notify_settings"].auth_token).compute_signature(
        url, {"MessageSid": "SMabc", "MessageStatus": "sent"})
    response = client.post(f"{STATUS}?notice={notice.id}", data={"MessageSid": "SMabc", "MessageStatus": "delivered"},
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403 and fresh(notice).status == "queued"


def test_unreachable_handset_30003_sends_again_as_a_new_round(client, app_ctx, notice):
    status(client, app_ctx, notice, "sent", sid="SMfirst")
    status(client, app_ctx, notice, "undelivered", sid="SMfirst", ErrorCode="30003")
    again = fresh(notice)
    assert (again.status, again.error_code, again.delivery_round, again.provider_sid) == ("queued", "30003", 1, None)


def test_other_undelivered_codes_are_final(client, app_ctx, notice):
    status(client, app_ctx, notice, "undelivered", sid="SMfirst", ErrorCode="30006")
    assert (fresh(notice).status, fresh(notice).error_code) == ("undelivered", "30006")


@pytest.mark.parametrize("word", ["STOP", "退订", "td", " Stop "])
def test_stop_words_opt_out_and_start_opts_back_in(client, app_ctx, word):
    (subscriber,) = factories.subscribers(["+8613800000011"])
    response = signed_post(client, app_ctx, INBOUND, {"From": "+8613800000011", "Body": word, "MessageSid": "SMin"})
    assert response.status_code == 200 and "退订" in response.get_data(as_text=True)
    db.session.expire_all()
    stopped = db.session.get(Subscriber, subscriber.id)
    assert stopped.opted_out_at is not None and stopped.opted_out_source == "sms_stop"
    signed_post(client, app_ctx, INBOUND, {"From": "8613800000011", "Body": "START"})
    db.session.expire_all()
    assert db.session.get(Subscriber, subscriber.id).opted_out_at is None


def test_a_reply_1_to_5_after_a_survey_is_stored_as_the_score(client, app_ctx, no_outage_notice, recovered_incident):
    (subscriber,) = factories.subscribers(["+8613800000012"])
    signed_post(client, app_ctx, INBOUND, {"From": subscriber.phone, "Body": "5"})
    assert db.session.scalars(select(SatisfactionScore)).all() == []      # no survey sent yet: not a score
    incident = recovered_incident()
    survey = db.session.scalar(select(Notice).where(Notice.kind == NoticeKind.survey))
    status(client, app_ctx, survey, "delivered", sid="SMsurvey")
    assert signed_post(client, app_ctx, INBOUND, {"From": subscriber.phone, "Body": "4"}).status_code == 200
    signed_post(client, app_ctx, INBOUND, {"From": subscriber.phone, "Body": "2"})   # changed their mind
    (score,) = db.session.scalars(select(SatisfactionScore)).all()
    assert (score.incident_id, score.subscriber_id, score.score) == (incident.id, subscriber.id, 2)


@pytest.mark.slow
def test_the_gateway_posts_signed_callbacks_that_reach_delivered(app_ctx, no_outage_notice, recovered_incident,
                                                                  sender_settings, monkeypatch):
    """End to end over real HTTP: sender → gateway → signed callbacks → the product's webhook."""
    from app.notify.gateway.app import GatewayApp
    from app.notify.gateway.server import RunningGateway
    from app.notify.sender import Sender

    web = create_server(app_ctx, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=web.run, daemon=True).start()
    base = f"http://127.0.0.1:{web.effective_port}"
    settings = sender_settings.with_(public_base_url=base)
    monkeypatch.setitem(app_ctx.extensions, "noc_notify_settings", settings)   # the webhook's back-off: none
    gateway = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token, callbacks=True)).start()
    try:
        factories.subscribers(factories.phones(4) + ["+8613800030003"])
        recovered_incident()
        sender = Sender(app_ctx, settings.with_(gateway_url=gateway.url))
        unreachable_id = db.session.scalar(
            select(Notice.id).join(Subscriber, Subscriber.id == Notice.subscriber_id)
            .where(Notice.kind == NoticeKind.recovery, Subscriber.phone == "+8613800030003"))
        done = threading.Event()
        # Callbacks arrive asynchronously: the 30003 one may come while a drain is still
        # running (then that drain re-sends at once) or after it (then the next one does).
        # Either way every notice ends delivered, the unreachable one in a second round.
        for _ in range(200):   # poll up to 20 s
            drain(sender)
            db.session.rollback()
            rows = db.session.scalars(select(Notice).where(Notice.kind == NoticeKind.recovery)).all()
            if [r.status for r in rows] == ["delivered"] * 5:
                break
            done.wait(0.1)
        assert sorted(r.status for r in rows) == ["delivered"] * 5
        assert db.session.get(Notice, unreachable_id).delivery_round == 1
        assert sum(m["to"] == "+8613800030003" for m in gateway.gateway.messages.values()) == 2
    finally:
        gateway.stop()
        web.close()
