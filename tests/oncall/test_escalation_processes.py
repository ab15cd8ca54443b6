"""Real processes (`flask scheduler run`, `flask sender run`, `flask serve`) and the local gateway: escalation through
three tiers with an acknowledgement at tier 2; a scheduler killed mid-escalation and restarted judging
each step once, ending in one voice call to tier 3; an alert storm of 2,000 alerts posted at once to the
web server becoming a handful of proposals. Windows of seconds (policy_escalation_seconds.toml):
the report is due 2 s after detection; unacknowledged, tier 2 follows 3 s later, tier 3 3 s after
that, and tier 3's voice call 3 s after that (5 s each in the acknowledgement test, which must act
between two steps)."""
from __future__ import annotations

import signal
import socket
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from app.alerts.models import Alert, AlertProposal
from app.auth.models import Role
from app.auth.service import issue_token
from app.clock import utcnow
from app.extensions import db
from app.incidents.models import TimelineEvent
from app.notify.gateway.app import GatewayApp
from app.notify.gateway.server import RunningGateway
from app.oncall import service as oncall
from app.oncall.models import OncallCall, OncallEscalation, Tier
from app.policy import load_policy
from app.staff.models import StaffAlert
from tests import factories
from tests.notify.helpers import signed_post
from tests.processes import flask_process, wait_for

pytestmark = pytest.mark.slow
POLICY = Path(__file__).with_name("policy_escalation_seconds.toml")
PHONES = {Tier.duty_manager: "+8613800139001", Tier.department_head: "+8613800139002",
          Tier.command_center: "+8613800139003"}


@pytest.fixture
def seconds_escalation(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.extensions, "noc_policy", load_policy(POLICY))


@pytest.fixture
def people(make_user):
    now = utcnow()
    on_duty = {tier: make_user(Role.duty_manager, phone=phone)[0] for tier, phone in PHONES.items()}
    oncall.replace_roster(now - timedelta(hours=1), now + timedelta(hours=1), [
        oncall.ShiftInput(user.id, tier, now - timedelta(hours=1), now + timedelta(hours=1))
        for tier, user in on_duty.items()], on_duty[Tier.duty_manager])
    return on_duty


@pytest.fixture
def gateway(app_ctx):
    settings = app_ctx.extensions["noc_notify_settings"]
    running = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token, callbacks=False)).start()
    yield running
    running.stop()


@pytest.fixture
def processes(database_url, gateway, tmp_path):
    started: list[subprocess.Popen] = []
    policy = {"file": POLICY}

    def start(name: str, *command: str, **env: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}-{len(started)}.log", "wb")
        process = flask_process(database_url, *command, log=log, NOC_POLICY_FILE=str(policy["file"]),
                                NOC_SMS_GATEWAY_URL=gateway.url, NOC_SMS_SEGMENTS_PER_SECOND="0",
                                NOC_SMS_POLL_SECONDS="0.1", NOC_SMS_BACKOFF_BASE_SECONDS="0", **env)
        process.log_path = log.name
        started.append(process)
        return process

    def interval(seconds: int) -> None:
        """The processes' unacknowledged interval (a copy of the policy file): more room on a loaded machine."""
        copy = tmp_path / "policy.toml"
        copy.write_text(POLICY.read_text().replace("unacknowledged_next_tier_minutes = 3",
                                                   f"unacknowledged_next_tier_minutes = {seconds}"))
        policy["file"] = copy

    start.interval = interval
    start.logs = lambda: "\n".join(f"--- {p.args[-3:]} {p.pid} (exit {p.poll()}):\n"
                                   f"{Path(p.log_path).read_text(errors='replace')[-2500:]}" for p in started)
    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def steps() -> list[tuple[int, bool]]:
    return [(tier, acknowledged is not None) for tier, acknowledged in db.session.execute(
        select(OncallEscalation.tier, OncallEscalation.acknowledged_at).where(OncallEscalation.cause == "breach")
        .order_by(OncallEscalation.tier))]


def texted(gateway: RunningGateway) -> Counter:
    return Counter(message["to"] for message in list(gateway.gateway.messages.values()))


def _state() -> str:
    rows = db.session.execute(select(OncallEscalation.tier, OncallEscalation.raised_at, OncallEscalation.voice_called_at,
                                     OncallEscalation.cause)).all()
    return f"\nnow {utcnow().isoformat()} steps {rows} calls {db.session.scalars(select(OncallCall)).all()}"


def count(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(TimelineEvent).where(TimelineEvent.kind == kind))


def test_three_tiers_with_acknowledgement_at_tier_two(app_ctx, seconds_escalation, operator_api, people, gateway,
                                                        processes, client):
    processes.interval(5)        # the test acknowledges between tier 2 and tier 3: give it 5 s
    processes("scheduler", "scheduler", "run", "--poll", "0.3")
    processes("sender", "sender", "run")
    incident = factories.declared(operator_api, detected_at=utcnow())
    db.session.commit()
    # Acknowledged as soon as tier 2 is raised (its SMS may still be on its way: on a loaded machine
    # the sender could take longer than the 3 s before tier 3).
    wait_for(lambda: steps() == [(1, False), (2, False)], 30, "tier 2's step", context=processes.logs)
    reply = signed_post(client, app_ctx, "/api/v1/webhooks/sms/inbound",
                        {"From": PHONES[Tier.department_head], "Body": "确认", "MessageSid": "SMproc1"})
    assert reply.status_code == 200
    acknowledged_at = utcnow()
    assert steps() == [(1, True), (2, True)]
    wait_for(lambda: texted(gateway)[PHONES[Tier.department_head]], 30, "tier 2 to be texted", context=processes.logs)
    assert texted(gateway)[PHONES[Tier.duty_manager]] >= 1
    # Tier 3 would have been due 5 s after tier 2, its call 5 s later: wait past both, then look.
    wait_for(lambda: utcnow() > acknowledged_at + timedelta(seconds=11), 15, "the tier-3 moment to pass")
    assert steps() == [(1, True), (2, True)]
    assert not texted(gateway)[PHONES[Tier.command_center]] and not gateway.gateway.calls
    assert db.session.scalar(select(func.count()).select_from(OncallCall)) == 0
    (line,) = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "staff_alert_acknowledged",
                                                             TimelineEvent.incident_id == incident["id"]))
    assert line.after["channel"] == "sms" and line.actor_id == people[Tier.department_head].id


def test_a_scheduler_killed_mid_escalation_is_restarted_and_judges_each_step_once(
        app_ctx, seconds_escalation, operator_api, people, gateway, processes):
    first = processes("scheduler", "scheduler", "run", "--poll", "0.3")
    processes("sender", "sender", "run")
    factories.declared(operator_api, detected_at=utcnow())
    db.session.commit()
    # Killed once tier 2 is raised (on a loaded machine tier 3 may already be too: the restarted
    # schedulers then have only the call left to judge, still once).
    wait_for(lambda: len(steps()) >= 2, 30, "tier 2's step", context=processes.logs)
    first.send_signal(signal.SIGKILL)          # no clean shutdown, mid-escalation
    first.wait(10)
    killed_at = utcnow()
    # Tier 3 and its call fall due while no scheduler runs; two restarted schedulers race for them.
    wait_for(lambda: utcnow() > killed_at + timedelta(seconds=7), 10, "tier 3 and its call to fall due")
    processes("scheduler", "scheduler", "run", "--poll", "0.3")
    processes("scheduler", "scheduler", "run", "--poll", "0.3")
    wait_for(lambda: gateway.gateway.calls, 40, "tier 3's voice call",
             context=lambda: processes.logs() + _state())
    wait_for(lambda: utcnow() > killed_at + timedelta(seconds=11), 10, "a few more passes")
    assert steps() == [(1, False), (2, False), (3, False)]
    assert count("oncall_escalated") == 2 and count("oncall_voice_call") == 1
    alerts = Counter(db.session.scalars(select(StaffAlert.user_id).where(StaffAlert.kind == "oncall_escalation")))
    assert alerts == {people[Tier.department_head].id: 1, people[Tier.command_center].id: 1}
    wait_for(lambda: texted(gateway)[PHONES[Tier.command_center]], 30, "tier 3 to be texted", context=processes.logs)
    assert texted(gateway)[PHONES[Tier.department_head]] == 1 and texted(gateway)[PHONES[Tier.command_center]] == 1
    (call,) = gateway.gateway.calls.values()
    assert call["to"] == PHONES[Tier.command_center] and 'language="zh-CN"' in call["twiml"]
    wait_for(lambda: db.session.scalar(select(OncallCall.status)) == "sent", 30, "the call recorded as placed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def storm_alert(i: int) -> dict:
    return {"status": "firing", "fingerprint": f"storm{i:06d}", "startsAt": "2026-12-01T01:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "annotations": {"summary": "基站退服"},
            "labels": {"alertname": "BaseStationDown", "region": ["hangzhou", "ningbo"][i % 2],
                       "service": ["mobile-data", "broadband"][(i // 2) % 2], "instance": f"bs{i}"}}


def test_an_alert_storm_becomes_a_handful_of_proposals(app_ctx, processes, make_user):
    user, _ = make_user(Role.integration)
    token = issue_token(user)
    db.session.commit()
    port = free_port()
    processes("web", "serve", "--port", str(port), NOC_IN_PROCESS_WORKERS="0")
    base = f"http://127.0.0.1:{port}"

    def web_up() -> bool:
        try:
            return requests.get(base + "/healthz", timeout=2).status_code in (200, 503)
        except requests.RequestException:
            return False

    wait_for(web_up, 60, "the web server to answer", context=processes.logs)
    alerts = [storm_alert(i) for i in range(2000)]
    payloads = [{"version": "4", "status": "firing", "receiver": "noc", "alerts": alerts[i:i + 100]}
                for i in range(0, 2000, 100)]
    payloads += payloads[:5]                      # Alertmanager re-sends firing alerts: repeats

    def post(payload: dict) -> int:
        return requests.post(base + "/api/v1/alerts/alertmanager", json=payload, timeout=60,
                             headers={"Authorization": f"Bearer {token}"}).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(post, payloads))
    assert answers == [202] * len(payloads), processes.logs()
    db.session.rollback()
    proposals = db.session.execute(select(AlertProposal.group_key, AlertProposal.alert_count)).all()
    assert len(proposals) == 4 and sum(count for _, count in proposals) == 2000, proposals
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 2000
