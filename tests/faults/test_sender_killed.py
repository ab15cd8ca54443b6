"""kill -9 of the sender mid-batch, against a provider that takes no idempotency key (like Twilio):
only the look-up of in-doubt claims stands between the crash and a second SMS."""
from __future__ import annotations

import signal
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.service import create_user
from app.clock import utcnow
from app.extensions import db
from app.incidents import service as incidents
from app.notify.gateway.app import GatewayApp
from app.notify.gateway.server import RunningGateway
from app.notify.models import Notice
from tests import factories
from tests.processes import wait_for

pytestmark = pytest.mark.slow
COUNT = 400
DUE_NOW = Notice.kind.in_(("outage", "recovery"))   # the survey waits an hour after recovery


@pytest.fixture
def twilio_like_gateway(fault_app):
    settings = fault_app.extensions["noc_notify_settings"]
    # 5 ms a request, so a batch is in flight long enough to be killed in its middle.
    running = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token, callbacks=False,
                                        latency_seconds=0.005, idempotent=False)).start()
    yield running
    running.stop()


def recovered_incident_with_notices() -> None:
    operator, _ = create_user("operator-faults", Role.operator)
    incident = incidents.declare(operator, title="杭州移动数据中断", services=["mobile_data"], regions=["杭州"])
    incidents.report(incident.id, operator, fault_type="基站退服", scope_summary="杭州",
                     estimated_recovery_at=utcnow().replace(year=2099))
    incidents.respond(incident.id, operator, responder="张伟", emergency_response=incident.major)
    incidents.recover(incident.id, operator, summary="已恢复")
    db.session.commit()


def statuses() -> dict[str, int]:
    return dict(db.session.execute(select(Notice.status, func.count()).where(DUE_NOW).group_by(Notice.status)).all())


def test_sender_killed_mid_batch_loses_nothing_and_sends_nothing_twice(fault_app, processes, twilio_like_gateway):
    factories.subscribers(factories.phones(COUNT, start=1000))       # no number the gateway fails on purpose
    recovered_incident_with_notices()            # each subscriber is owed two notices now: 故障通知 and 恢复通知
    total = db.session.scalar(select(func.count()).select_from(Notice).where(DUE_NOW))
    assert total == 2 * COUNT
    gateway = twilio_like_gateway.gateway
    env = {"NOC_SMS_GATEWAY_URL": twilio_like_gateway.url, "NOC_SMS_SEGMENTS_PER_SECOND": "0",
           "NOC_SMS_POLL_SECONDS": "0.1", "NOC_SMS_BACKOFF_BASE_SECONDS": "0", "NOC_SMS_LEASE_SECONDS": "2",
           "NOC_SMS_BATCH_SIZE": "100", "NOC_SMS_SENDER_THREADS": "4"}
    first = processes.start("sender-1", "sender", "run", **env)
    try:
        wait_for(lambda: gateway.requests_seen >= total // 2, 90, "the first sender to be half-way")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    db.session.rollback()
    in_doubt = db.session.execute(select(Notice.id, Notice.subscriber_id).where(Notice.status == "sending")).all()
    held_by_provider = {m["to"] for m in gateway.messages.values()}
    from app.subscribers.models import Subscriber

    phone_of = dict(db.session.execute(select(Subscriber.id, Subscriber.phone)).all())
    accepted_unrecorded = [i for i, s in in_doubt if phone_of[s] in held_by_provider]
    # The hard case exists: the provider holds messages whose acceptance the dead sender never wrote.
    assert accepted_unrecorded, (statuses(), processes.log(first)[-2000:])

    second = processes.start("sender-2", "sender", "run", **env)   # takes over once the 2 s lease ran out
    wait_for(lambda: statuses() == {"accepted": total}, 90, "every notice accepted")
    second.send_signal(signal.SIGTERM)
    second.wait(30)

    messages = list(gateway.messages.values())
    per_notice = Counter((m["to"], m["body"]) for m in messages)
    assert len(per_notice) == total and max(per_notice.values()) == 1             # 0 lost, 0 duplicated
    rows = db.session.scalars(select(Notice).where(DUE_NOW)).all()
    assert {r.provider_sid for r in rows} == {m["sid"] for m in messages}          # each notice has its own SMS
    assert gateway.requests_seen == total                                         # not one create repeated
    assert gateway.lookups_seen >= len(accepted_unrecorded)                       # the look-up did it
    assert "the provider already has it" in processes.log(second)
