"""The pool's rate limit is global: two real sender processes together send at the configured
sum of the identities' rates, not at twice it."""
from __future__ import annotations

import signal
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notify.gateway.app import GatewayApp
from app.notify.gateway.server import RunningGateway
from app.notify.models import NoticeText
from tests import factories
from tests.notify.test_sender_processes import sender_process, wait_until

pytestmark = pytest.mark.slow

IDENTITIES = {"+8610690001": 20, "+8610690002": 30}      # 50 segments/s in all (within reach of a loaded CI box)


def test_two_sender_processes_together_keep_the_pools_rate(app_ctx, database_url, no_outage_notice,
                                                           recovered_incident, tmp_path):
    settings = app_ctx.extensions["noc_notify_settings"]
    running = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token, callbacks=False)).start()
    gateway = running.gateway
    factories.subscribers(factories.phones(600, start=1000))    # far more than the run can carry
    recovered_incident()
    db.session.commit()
    segments = db.session.scalar(select(NoticeText.segments).where(NoticeText.language == "zh-CN"))
    spec = ",".join(f"{number}={rate}" for number, rate in IDENTITIES.items())
    logs = [open(tmp_path / f"sender-{i}.log", "w") for i in range(2)]
    senders = [sender_process(database_url, running.url, log=log, NOC_SMS_IDENTITIES=spec,
                              NOC_SMS_SENDER_THREADS="4", NOC_SMS_BATCH_SIZE="40") for log in logs]
    try:
        assert wait_until(lambda: gateway.requests_seen >= 40, 60), (tmp_path / "sender-0.log").read_text()
        first_count, first_at = gateway.requests_seen, time.monotonic()
        threading.Event().wait(4)                                  # the measured window
        last_count, last_at = gateway.requests_seen, time.monotonic()
    finally:
        for process in senders:
            process.send_signal(signal.SIGTERM)
        for process in senders:
            process.wait(30)
        for log in logs:
            log.close()
        running.stop()
    rate = (last_count - first_count) * segments / (last_at - first_at)
    logs_text = "\n".join((tmp_path / f"sender-{i}.log").read_text()[-2000:] for i in range(2))
    assert abs(rate - sum(IDENTITIES.values())) <= 0.1 * sum(IDENTITIES.values()), (rate, logs_text)
    # Both processes did send (the budget is shared, not one process's), from both numbers in
    # proportion to their rates.
    by_number = Counter(m["from"] for m in gateway.messages.values())
    assert set(by_number) == set(IDENTITIES)
    assert by_number["+8610690002"] / by_number["+8610690001"] == pytest.approx(30 / 20, rel=0.2)
    assert all("started" in (tmp_path / f"sender-{i}.log").read_text() for i in range(2)), logs_text
