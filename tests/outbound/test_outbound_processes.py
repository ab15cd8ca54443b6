"""Real processes: the product (`flask serve` with its in-process scheduler, SMS sender, SMS gateway and
outbound worker) and the local receiver (`flask outbound-receiver run`), down for a while then up."""
from __future__ import annotations

import json
import signal
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from app.auth.models import Role
from app.clock import utcnow
from app.extensions import db
from app.incidents.models import TimelineEvent
from app.outbound.models import OutboundReport
from app.scheduling.models import Deadline
from tests import factories
from tests.outbound.conftest import free_port
from tests.processes import flask_process, wait_for

pytestmark = pytest.mark.slow


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 600
    except requests.RequestException:
        return False


def test_receiver_down_then_up_report_met_on_acknowledgement_nothing_sent_twice(app_ctx, database_url, tmp_path):
    _, token = factories.user(Role.operator)
    factories.subscribers(factories.phones(3))
    db.session.commit()
    web_port, gateway_port, receiver_port = free_port(), free_port(), free_port()
    secret = "s" * 64
    outbound_env = {"NOC_OUTBOUND_SECRET": secret, "NOC_DISPATCH_URL": f"http://127.0.0.1:{receiver_port}/dispatch",
                    "NOC_REGULATOR_URL": f"http://127.0.0.1:{receiver_port}/regulator"}
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("web", "receiver")}
    context = lambda: "\n".join(f"--- {n}\n{(tmp_path / f'{n}.log').read_text()[-3000:]}" for n in logs)  # noqa: E731
    web = flask_process(database_url, "serve", "--port", str(web_port), log=logs["web"],
                        NOC_IN_PROCESS_WORKERS="1", NOC_SMS_GATEWAY_PORT=str(gateway_port),
                        NOC_SMS_SEGMENTS_PER_SECOND="0", NOC_SMS_POLL_SECONDS="0.2", NOC_SCHEDULER_POLL_SECONDS="0.5",
                        NOC_OUTBOUND_RECEIVER_PORT=str(free_port()), NOC_OUTBOUND_POLL_SECONDS="0.2",
                        NOC_OUTBOUND_BACKOFF_BASE_SECONDS="0.3", NOC_OUTBOUND_BACKOFF_MAX_SECONDS="0.6",
                        NOC_OUTBOUND_TIMEOUT_SECONDS="2", **outbound_env)
    receiver = None
    try:
        base = f"http://127.0.0.1:{web_port}"
        wait_for(lambda: answers(base + "/healthz"), 60, "the product to answer", context=context)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        incident = api.post(base + "/api/v1/incidents", json=factories.incident_body(), timeout=10).json()
        reported = api.post(f"{base}/api/v1/incidents/{incident['id']}/report", timeout=10, json={
            "fault_type": "基站退服", "scope_summary": "杭州",
            "estimated_recovery_at": (utcnow() + timedelta(hours=3)).isoformat()})
        assert reported.status_code == 200, reported.text

        def report_row() -> OutboundReport | None:
            return db.session.scalar(select(OutboundReport).where(OutboundReport.incident_id == incident["id"]))

        # The receiver is down: attempts fail and are retried with back-off.
        wait_for(lambda: (row := report_row()) is not None and row.failures >= 3, 60,
                 "three failed attempts while the receiver is down", context=context)
        deadline = db.session.scalar(select(Deadline).where(Deadline.incident_id == incident["id"],
                                                            Deadline.kind == "report"))
        assert deadline.state == "pending" and deadline.met_at is None
        receiver = flask_process(database_url, "outbound-receiver", "run", "--port", str(receiver_port),
                                 "--store", str(tmp_path / "received.jsonl"), log=logs["receiver"], **outbound_env)
        wait_for(lambda: (row := report_row()) is not None and row.acknowledged_at is not None, 60,
                 "the acknowledgement once the receiver is up", context=context)
        row = report_row()
        deadline = db.session.scalar(select(Deadline).where(Deadline.incident_id == incident["id"],
                                                            Deadline.kind == "report"))
        assert deadline.state == "met" and deadline.met_at == row.acknowledged_at   # met on acknowledgement
        assert row.status == "acknowledged" and row.attempts == row.failures + 1 >= 4
        failed = db.session.scalars(select(TimelineEvent).where(
            TimelineEvent.incident_id == incident["id"], TimelineEvent.kind == "outbound_attempt_failed")).all()
        assert len(failed) == row.failures   # every attempt on the timeline
        received = requests.get(f"http://127.0.0.1:{receiver_port}/_receiver/messages", timeout=5).json()
        assert [m["idempotency_key"] for m in received["messages"]] == [row.idempotency_key]
        assert received["duplicates"] == 0 and received["requests_seen"] == 1
        assert received["messages"][0]["payload"]["incident_number"] == incident["number"]
        page = requests.get(f"http://127.0.0.1:{receiver_port}/", timeout=5)
        assert incident["number"] in page.text and "本地接收端" in page.text
        # The SMS side of the same 上报: the in-process gateway received the outage notices.
        wait_for(lambda: len(requests.get(f"http://127.0.0.1:{gateway_port}/_gateway/messages",
                                          timeout=5).json()["messages"]) == 3, 30, "three outage SMS", context=context)
    finally:
        for process in (web, receiver):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (web, receiver):
            if process is not None:
                try:
                    process.wait(15)
                except Exception:  # noqa: BLE001
                    process.kill()
        for handle in logs.values():
            handle.close()


def test_make_run_path_the_product_starts_its_own_receiver_and_the_console_links_to_it(app_ctx, database_url, tmp_path):
    """No URL configured (as `make run`): `flask serve` starts the local receiver and sends to it."""
    _, token = factories.user(Role.operator)
    db.session.commit()
    web_port, receiver_port = free_port(), free_port()
    log = open(tmp_path / "web.log", "w")
    web = flask_process(database_url, "serve", "--port", str(web_port), log=log, NOC_IN_PROCESS_WORKERS="1",
                        NOC_SMS_GATEWAY_PORT=str(free_port()), NOC_OUTBOUND_RECEIVER_PORT=str(receiver_port),
                        NOC_OUTBOUND_POLL_SECONDS="0.2", NOC_OUTBOUND_RECEIVER_STORE=str(tmp_path / "received.jsonl"))
    try:
        base = f"http://127.0.0.1:{web_port}"
        wait_for(lambda: answers(base + "/healthz"), 60, "the product to answer",
                 context=lambda: (tmp_path / "web.log").read_text())
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        incident = api.post(base + "/api/v1/incidents", json=factories.incident_body(), timeout=10).json()
        assert api.post(f"{base}/api/v1/incidents/{incident['id']}/report", timeout=10, json={
            "fault_type": "光缆中断", "scope_summary": "宁波",
            "estimated_recovery_at": (utcnow() + timedelta(hours=3)).isoformat()}).status_code == 200

        def acknowledged() -> list | None:
            listed = api.get(f"{base}/api/v1/incidents/{incident['id']}/outbound-reports", timeout=5).json()
            return listed if listed and listed[0]["state"] == "acknowledged" else None

        [delivery] = wait_for(acknowledged, 30, "the in-process receiver's acknowledgement",
                              context=lambda: (tmp_path / "web.log").read_text())
        assert delivery["attempts"] == 1 and delivery["failures"] == 0
        page = requests.get(f"http://127.0.0.1:{receiver_port}/", timeout=5).text
        assert incident["number"] in page and "光缆中断" in page
        received = requests.get(f"http://127.0.0.1:{receiver_port}/_receiver/messages", timeout=5).json()
        assert len(received["messages"]) == 1 and received["duplicates"] == 0
        stored = [json.loads(line) for line in (tmp_path / "received.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [m["idempotency_key"] for m in stored] == [delivery["idempotency_key"]]
        health = requests.get(base + "/healthz", timeout=5).json()["checks"]["outbound"]
        assert health["ok"] is True and health["unacknowledged"] == 0 and health["in_process"] is True
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(15)
        except Exception:  # noqa: BLE001
            web.kill()
        log.close()
