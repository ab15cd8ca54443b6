"""The local gateway itself: Twilio's answers, idempotency key, auth, and half-sent requests."""
from __future__ import annotations

import socket
import threading
from urllib.parse import urlencode

import pytest
from twilio.base.exceptions import TwilioRestException

from app.notify.gateway.app import GatewayApp
from app.notify.gateway.server import RunningGateway
from app.notify.settings import from_environment
from app.notify.twilio_client import make_client


@pytest.fixture
def local():
    settings = from_environment(env={})
    running = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token, callbacks=False)).start()
    yield running, make_client(settings.with_(gateway_url=running.url)), settings
    running.stop()


def test_the_same_callback_url_returns_the_same_message(local):
    running, client, settings = local
    first = client.messages.create(to="+8613900000018", body="测试", from_=settings.from_number,
                                   status_callback="http://x/status?notice=7")
    again = client.messages.create(to="+8613900000018", body="测试", from_=settings.from_number,
                                   status_callback="http://x/status?notice=7")
    other = client.messages.create(to="+8613900000018", body="测试", from_=settings.from_number,
                                   status_callback="http://x/status?notice=7&round=1")
    assert first.sid == again.sid != other.sid and first.status == "queued"
    assert len(running.gateway.messages) == 2 and running.gateway.requests_seen == 3


def test_errors_come_back_as_twilio_errors(local):
    running, client, settings = local
    for to, code, status in [("+8613900021211", 21211, 400), ("+8613900021610", 21610, 400),
                             ("not-a-number", 21211, 400), ("+8613900000429", 20429, 429)]:
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=to, body="x", from_=settings.from_number)
        assert (raised.value.code, raised.value.status) == (code, status)
    running.gateway.add_failure("0018", 500, times=1)
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="+8613900000018", body="x", from_=settings.from_number)
    assert raised.value.status == 500
    assert client.messages.create(to="+8613900000018", body="x", from_=settings.from_number).sid.startswith("SM")


def test_wrong_credentials_are_refused(local):
    running, _, settings = local
    intruder = make_client(settings.with_(auth_token="wrong", gateway_url=running.url))
    with pytest.raises(TwilioRestException) as raised:
        intruder.messages.create(to="+8613900000018", body="x", from_=settings.from_number)
    assert raised.value.status == 401 and running.gateway.messages == {}


def test_a_request_cut_off_mid_body_is_never_acted_on(local):
    running, _, settings = local
    body = urlencode({"To": "+8613900000018", "Body": "x" * 200, "StatusCallback": "http://x/s?notice=1"}).encode()
    head = (f"POST /2010-04-01/Accounts/{settings.account_sid}/Messages.json HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", running.port)) as connection:
        connection.sendall(head + body[:30])      # "To=%2B8613900…" and then the sender dies
    threading.Event().wait(0.2)
    assert running.gateway.messages == {}


def test_the_messages_list_filters_by_number_and_time_and_pages_like_twilio(local):
    from datetime import datetime, timedelta, timezone

    running, client, settings = local
    before = datetime.now(timezone.utc) - timedelta(seconds=2)
    for index in range(5):
        client.messages.create(to="+8613900000018", body=f"第{index}条", from_=settings.from_number)
    client.messages.create(to="+8613900000019", body="别人的", from_=settings.from_number)
    mine = list(client.messages.stream(to="+8613900000018", date_sent_after=before, page_size=2))
    assert [m.body for m in mine] == [f"第{i}条" for i in (4, 3, 2, 1, 0)]   # newest first, over three pages
    assert running.gateway.lookups_seen == 3
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert client.messages.list(to="+8613900000018", date_sent_after=later) == []
    assert [m.body for m in client.messages.list(to="+8613900000019")] == ["别人的"]


def test_without_idempotency_a_repeated_callback_url_is_a_second_message(local):
    running, client, settings = local
    running.gateway.idempotent = False
    for _ in range(2):
        client.messages.create(to="+8613900000018", body="测试", from_=settings.from_number,
                               status_callback="http://x/status?notice=7")
    assert len(running.gateway.messages) == 2
