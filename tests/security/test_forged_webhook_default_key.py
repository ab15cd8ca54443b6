"""Item 5 (forgery): with no Twilio credentials the webhook key is no longer a string anyone can
read in the source; it is random per installation, kept 0600 in the instance folder and
shared by every process of that installation (web, sender, local gateway)."""
from __future__ import annotations

import stat

from sqlalchemy import select

from app.extensions import db
from app.notify.settings import LOCAL_GATEWAY_TOKEN_FILE, from_environment
from app.subscribers.models import Subscriber
from tests import factories
from tests.notify.helpers import signed_post

INBOUND = "/api/v1/webhooks/sms/inbound"
STATUS = "/api/v1/webhooks/sms/status"
THE_OLD_BUILT_IN_KEY = "noc-local-gateway-token"


def test_a_request_signed_with_the_old_built_in_key_is_refused(client, app_ctx):
    assert app_ctx.extensions["noc_notify_settings"].auth_token != THE_OLD_BUILT_IN_KEY
    (subscriber,) = factories.subscribers(["+8613800000031"])
    forged = signed_post(client, app_ctx, INBOUND, {"From": subscriber.phone, "Body": "STOP", "MessageSid": "SMf1"},
                         token=THE_OLD_BUILT_IN_KEY)
    assert forged.status_code == 403
    forged_status = signed_post(client, app_ctx, f"{STATUS}?notice=1",
                                {"MessageSid": "SMf2", "MessageStatus": "delivered"}, token=THE_OLD_BUILT_IN_KEY)
    assert forged_status.status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(Subscriber.opted_out_at)) is None


def test_the_key_is_random_per_installation_private_and_shared_by_its_processes(tmp_path):
    one, other = tmp_path / "one", tmp_path / "other"
    first = from_environment(env={}, instance_path=one)
    again = from_environment(env={}, instance_path=one)              # e.g. the sender, a second process
    elsewhere = from_environment(env={}, instance_path=other)
    assert first.auth_token == again.auth_token != elsewhere.auth_token
    assert len(first.auth_token) >= 32 and first.auth_token != THE_OLD_BUILT_IN_KEY
    path = one / LOCAL_GATEWAY_TOKEN_FILE
    assert path.read_text().strip() == first.auth_token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in one.iterdir()] == [LOCAL_GATEWAY_TOKEN_FILE]   # no draft left behind


def test_real_twilio_or_an_explicit_token_needs_no_file(tmp_path):
    real = from_environment(env={"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "real-token",
                                 "TWILIO_FROM": "+8610690001"}, instance_path=tmp_path)
    explicit = from_environment(env={"NOC_SMS_GATEWAY_TOKEN": "x" * 40}, instance_path=tmp_path)
    assert (real.auth_token, explicit.auth_token) == ("real-token", "x" * 40)
    assert list(tmp_path.iterdir()) == []
