"""Real sender processes: killed mid-batch and restarted; two at once on PostgreSQL."""
from __future__ import annotations

import signal
import subprocess
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.notify.gateway.app import GatewayApp
from app.notify.gateway.server import RunningGateway
from app.notify.models import Notice
from tests import factories
from tests.processes import flask_process

pytestmark = pytest.mark.slow


def sender_env(gateway_url: str, **env: str) -> dict:
    """A sender against this gateway, with no rate limit or back-off to wait for."""
    return {"NOC_SMS_GATEWAY_URL": gateway_url, "NOC_SMS_SEGMENTS_PER_SECOND": "0", "NOC_SMS_POLL_SECONDS": "0.1",
            "NOC_SMS_BACKOFF_BASE_SECONDS": "0", **env}


def sender_process(database_url: str, gateway_url: str, *args: str, log=None, **env: str) -> subprocess.Popen:
    return flask_process(database_url, "sender", "run", *args, log=log, **sender_env(gateway_url, **env))


def wait_until(condition, seconds: float) -> bool:
    tick = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        tick.wait(0.01)
    return condition()


@pytest.fixture
def slow_gateway(app_ctx):
    settings = app_ctx.extensions["noc_notify_settings"]
    # 5 ms a request: a batch is in flight long enough to be killed in its middle.
    running = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token, callbacks=False,
                                        latency_seconds=0.005)).start()
    yield running
    running.stop()


def test_killed_mid_batch_and_restarted_every_subscriber_gets_exactly_one(
        app_ctx, database_url, no_outage_notice, recovered_incident, slow_gateway, tmp_path):
    count = 300
    factories.subscribers(factories.phones(count))
    recovered_incident()
    db.session.commit()
    gateway = slow_gateway.gateway

    log = open(tmp_path / "first-sender.log", "w")   # a file, not a pipe nobody reads while it runs
    first = sender_process(database_url, slow_gateway.url, log=log, NOC_SMS_LEASE_SECONDS="2",
                           NOC_SMS_BATCH_SIZE="100", NOC_SMS_SENDER_THREADS="4")
    try:
        started = wait_until(lambda: gateway.requests_seen >= 150, 60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    log.close()
    assert started, (tmp_path / "first-sender.log").read_text()
    db.session.rollback()
    states = dict(db.session.execute(select(Notice.status, func.count()).where(Notice.kind == "recovery")
                                     .group_by(Notice.status)).all())
    # The hard case: rows the gateway accepted while the sender died before recording them.
    in_doubt = db.session.scalars(select(Notice.id).where(Notice.status == "sending")).all()
    callback = "{}/api/v1/webhooks/sms/status?notice={}"
    base = app_ctx.extensions["noc_notify_settings"].public_base_url
    accepted_unrecorded = [i for i in in_doubt if callback.format(base, i) in gateway.by_callback]
    assert states.get("sending", 0) > 0 and accepted_unrecorded, states
    assert states.get("accepted", 0) < count

    threading.Event().wait(2.2)          # the dead sender's lease runs out
    second = sender_process(database_url, slow_gateway.url, "--once", NOC_SMS_BATCH_SIZE="100")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output

    db.session.rollback()
    rows = db.session.scalars(select(Notice).where(Notice.kind == "recovery")).all()
    assert len(rows) == count and {r.status for r in rows} == {"accepted"}
    messages = list(gateway.messages.values())
    dupes = [m for m in messages if Counter(x["to"] for x in messages)[m["to"]] > 1]
    recovery_ids = {r.id for r in rows}
    strays = [(m["to"], m["status_callback"], m["body"][:20]) for m in messages if int(m["status_callback"].split("notice=")[1].split("&")[0]) not in recovery_ids]
    assert len(messages) == count, (dupes, strays)
    assert Counter(m["to"] for m in messages).most_common(1)[0][1] == 1          # nobody twice
    assert {r.provider_sid for r in rows} == {m["sid"] for m in messages}         # nobody missing
    # The restart looked the in-doubt ones up at the provider and adopted what it found: not one
    # request repeated, so even a provider without an idempotency key sent nobody two SMS.
    assert gateway.lookups_seen >= len(accepted_unrecorded)
    assert gateway.requests_seen == count


def test_two_senders_on_postgresql_share_the_work_and_send_nothing_twice(
        app_ctx, database_url, no_outage_notice, recovered_incident):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite allows one writer, so there is nothing to share")
    settings = app_ctx.extensions["noc_notify_settings"]
    running = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token, callbacks=False,
                                        latency_seconds=0.002)).start()
    try:
        count = 600
        factories.subscribers(factories.phones(count, start=1000))   # no number the gateway fails on purpose
        recovered_incident()
        db.session.commit()
        senders = [sender_process(database_url, running.url, "--once", NOC_SMS_BATCH_SIZE="50",
                                  NOC_SMS_SENDER_THREADS="4") for _ in range(2)]
        outputs = [s.communicate(timeout=120)[0] for s in senders]
        assert all(s.returncode == 0 for s in senders), outputs
        handled = [int(o.strip().splitlines()[-1].split()[1]) for o in outputs]
        assert all(h > 0 for h in handled) and sum(handled) == count, outputs
        assert running.gateway.requests_seen == count          # not one request repeated
        db.session.rollback()
        rows = db.session.scalars(select(Notice).where(Notice.kind == "recovery")).all()
        assert {r.status for r in rows} == {"accepted"} and len({r.provider_sid for r in rows}) == count
    finally:
        running.stop()
