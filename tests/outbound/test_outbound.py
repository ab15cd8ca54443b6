"""上报 and regulator reports out (RULES §9): signed, retried with back-off until acknowledged;
the dispatch centre's acknowledgement, not the button, meets the report deadline."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import requests
from freezegun import freeze_time
from sqlalchemy import select

from app import claims
from app.extensions import db
from app.incidents.models import TimelineEvent
from app.incidents.service import get_incident
from app.outbound import service
from app.outbound.models import OutboundReport
from app.outbound.sender import OUTBOUND, Attempt, post
from app.outbound.signing import sign, verify
from app.config import DEFAULT_POLICY_PATH
from app.policy import current_policy, load_policy
from app.reports import sections
from app.scheduling.judge import judge_due
from tests import factories
from tests.outbound.conftest import free_port
from tests.scheduling.walk import deadlines, recover, report, respond

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)


def kinds(incident_id: int, kind: str) -> list[TimelineEvent]:
    return list(db.session.scalars(select(TimelineEvent).where(
        TimelineEvent.incident_id == incident_id, TimelineEvent.kind == kind).order_by(TimelineEvent.id)))


def rows(incident_id: int) -> list[OutboundReport]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundReport).where(OutboundReport.incident_id == incident_id)))


def test_signature_is_hmac_sha256_hex_of_the_exact_body():
    body = '{"a":"上报"}'.encode()
    # Reference value computed independently (python3 -c 'hmac.new(b"k", body, hashlib.sha256).hexdigest()')
    assert sign(body, "k") == "4d495fc631930b51f8ddddb842c8ca37b87160c7f4531831d54cfb4ac2313cc2"
    assert verify(body, "k", sign(body, "k"))
    assert not verify(body + b" ", "k", sign(body, "k"))
    assert not verify(body, "other", sign(body, "k"))
    assert not verify(body, "k", None)


def test_receiver_refuses_a_bad_signature_and_stores_nothing(receiver, outbound_settings):
    body = json.dumps({"type": "fault_report"}).encode()
    answer = requests.post(f"{receiver.url}/dispatch", data=body, timeout=5,
                           headers={"X-NOC-Signature": sign(body, "not-the-secret"), "Idempotency-Key": "k1"})
    assert answer.status_code == 401
    answer = requests.post(f"{receiver.url}/dispatch", data=body, timeout=5,
                           headers={"X-NOC-Signature": sign(body, outbound_settings.secret)})
    assert answer.status_code == 400  # no idempotency key
    assert receiver.receiver.received == []


def test_report_button_starts_the_report_and_the_acknowledgement_meets_the_deadline(
        operator_api, receiver, outbound_sender, outbound_settings):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + timedelta(minutes=3))
        report(operator_api, incident["id"], acknowledged=False)
        # The button alone meets nothing: the report is queued, the deadline still pending.
        assert deadlines(operator_api, incident["id"])["report"]["state"] == "pending"
        listed = operator_api.get(f"/incidents/{incident['id']}/outbound-reports").json
        assert [(d["target"], d["state"], d["attempts"]) for d in listed] == [("dispatch", "queued", 0)]
        frozen.move_to(T0 + timedelta(minutes=4))
        assert outbound_sender.run_once(check_regulator=False) == 1
        deadline = deadlines(operator_api, incident["id"])["report"]
    assert deadline["state"] == "met"
    assert datetime.fromisoformat(deadline["met_at"]) == T0 + timedelta(minutes=4)  # the ack's time, not the button's
    [message] = receiver.receiver.received
    payload = message["payload"]
    assert message["target"] == "dispatch" and message["idempotency_key"] == f"{incident['number']}/dispatch/1"
    assert payload["incident_number"] == incident["number"] and payload["grade"] == incident["level"]
    assert payload["fault_type"] == "基站退服" and payload["scope"]["summary"] == "西湖区"
    assert payload["expected_recovery_at"] == "2026-11-24T04:00:00+00:00" and payload["type"] == "fault_report"
    [row] = rows(incident["id"])
    assert (row.status, row.attempts, row.receipt) == ("acknowledged", 1, message["receipt"])
    # What was sent verifies under the shared secret (the receiver accepted it).
    assert verify(row.body.encode(), outbound_settings.secret, sign(row.body.encode(), outbound_settings.secret))
    assert len(kinds(incident["id"], "outbound_acknowledged")) == 1
    listed = operator_api.get(f"/incidents/{incident['id']}/outbound-reports").json
    assert listed[0]["state"] == "acknowledged" and listed[0]["receipt"] == message["receipt"]


def test_a_drills_report_is_marked_as_a_drill(operator_api, receiver, outbound_sender):
    with freeze_time(T0) as frozen:
        drill = factories.declared(operator_api, detected_at=T0, drill=True)
        real = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + timedelta(minutes=3))
        report(operator_api, drill["id"], acknowledged=False)
        report(operator_api, real["id"], acknowledged=False)
        assert outbound_sender.run_once(check_regulator=False) == 2
    by_number = {m["payload"]["incident_number"]: m["payload"] for m in receiver.receiver.received}
    assert by_number[drill["number"]]["drill"] is True
    assert by_number[drill["number"]]["title"].startswith("【演练】")
    assert by_number[real["number"]]["drill"] is False
    assert not by_number[real["number"]]["title"].startswith("【演练】")


def test_retries_with_exponential_back_off_each_attempt_on_the_timeline(operator_api, receiver, outbound_sender):
    receiver.receiver.fail_next = 2   # down for two attempts
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        report(operator_api, incident["id"], acknowledged=False)
        assert outbound_sender.run_once(check_regulator=False) == 1
        [row] = rows(incident["id"])
        assert (row.status, row.failures, row.next_attempt_at) == ("queued", 1, T0 + timedelta(seconds=10))
        assert outbound_sender.run_once(check_regulator=False) == 0          # not due yet: nothing sent
        frozen.move_to(T0 + timedelta(seconds=10))
        assert outbound_sender.run_once(check_regulator=False) == 1
        [row] = rows(incident["id"])
        assert (row.failures, row.next_attempt_at) == (2, T0 + timedelta(seconds=30))  # 10 s, then 20 s
        frozen.move_to(T0 + timedelta(seconds=29))
        assert outbound_sender.run_once(check_regulator=False) == 0
        frozen.move_to(T0 + timedelta(seconds=30))
        assert outbound_sender.run_once(check_regulator=False) == 1
        deadline = deadlines(operator_api, incident["id"])["report"]
    [row] = rows(incident["id"])
    assert (row.status, row.attempts, row.failures) == ("acknowledged", 3, 2)
    assert row.first_error.startswith("HTTP 503") and row.first_error_at == T0
    assert deadline["state"] == "met" and datetime.fromisoformat(deadline["met_at"]) == T0 + timedelta(seconds=30)
    failed = kinds(incident["id"], "outbound_attempt_failed")
    assert [e.after["attempt"] for e in failed] == [1, 2]
    assert "10 秒后重试" in failed[0].message and "20 秒后重试" in failed[1].message
    assert len(kinds(incident["id"], "outbound_acknowledged")) == 1
    assert receiver.receiver.requests_seen == 3 and len(receiver.receiver.received) == 1


def test_breach_because_the_receiver_was_unreachable_is_in_the_analysis_report(
        app_ctx, operator_api, receiver, outbound_settings):
    from app.outbound.sender import OutboundSender

    down = OutboundSender(app_ctx, outbound_settings.with_(dispatch_url=f"http://127.0.0.1:{free_port()}/dispatch",
                                                           timeout_seconds=2))
    up = OutboundSender(app_ctx, outbound_settings)
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + timedelta(minutes=2))
        report(operator_api, incident["id"], acknowledged=False)                 # in time: 2 min into a 15-min window
        for minute in (2, 3, 5, 9):
            frozen.move_to(T0 + timedelta(minutes=minute))
            down.run_once(check_regulator=False)
        frozen.move_to(T0 + timedelta(minutes=16))
        judge_due()
        assert deadlines(operator_api, incident["id"])["report"]["state"] == "breached"
        frozen.move_to(T0 + timedelta(minutes=20))
        assert up.run_once(check_regulator=False) == 1      # the receiver is back: acknowledged
        deadline = deadlines(operator_api, incident["id"])["report"]
        outcome = sections.deadlines(get_incident(incident["id"]), current_policy()).data
        frozen.move_to(T0 + timedelta(minutes=30))
        respond(operator_api, incident["id"], False)
        recover(operator_api, incident["id"])
        markdown = operator_api.get(f"/incidents/{incident['id']}/analysis-report?format=md").get_data(as_text=True)
        page = operator_api.get(f"/incidents/{incident['id']}/analysis-report?format=html").get_data(as_text=True)
    assert "上报超时原因：调度中心接收端不可达" in markdown and "上报超时原因：调度中心接收端不可达" in page
    assert deadline["state"] == "breached" and datetime.fromisoformat(deadline["met_at"]) == T0 + timedelta(minutes=20)
    [row] = rows(incident["id"])
    assert (row.attempts, row.failures) == (5, 4)  # four down (minutes 2, 3, 5, 9), one acknowledged
    note = outcome["receiver_note"]
    assert "接收端不可达" in note and "共发送 5 次，失败 4 次" in note and "ConnectionError" in note
    assert "确认接收" in note and "08:20" in note   # acknowledged at 08:20 Shanghai time
    assert len(kinds(incident["id"], "deadline_met_late")) == 1


def test_a_late_button_is_not_blamed_on_the_receiver(app_ctx, operator_api, receiver, outbound_sender):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + timedelta(minutes=18))
        report(operator_api, incident["id"], acknowledged=False)
        outbound_sender.run_once(check_regulator=False)
        note = sections.deadlines(get_incident(incident["id"]), current_policy()).data["receiver_note"]
        assert deadlines(operator_api, incident["id"])["report"]["state"] == "breached"
    assert note is None


def test_a_crash_mid_send_never_doubles_the_report(app_ctx, operator_api, receiver, outbound_sender, outbound_settings):
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        report(operator_api, incident["id"], acknowledged=False)
        # A worker claims and sends, and dies before recording the answer.
        token = "dead-worker"
        [claimed] = claims.claim(OUTBOUND, token, T0, outbound_settings.lease_seconds, 10)
        db.session.commit()
        row = db.session.get(OutboundReport, claimed)
        answer = post(outbound_settings, Attempt(row.id, row.target, row.idempotency_key, row.body, row.attempts, False),
                      requests.Session())
        assert answer.acknowledged
        db.session.rollback()
        # Another worker, within the lease: nothing to take.
        assert outbound_sender.run_once(check_regulator=False) == 0
        frozen.move_to(T0 + timedelta(seconds=outbound_settings.lease_seconds + 1))
        assert outbound_sender.run_once(check_regulator=False) == 1   # the lease ran out: sent again, same key
        frozen.move_to(T0 + timedelta(minutes=5))
        assert outbound_sender.run_once(check_regulator=False) == 0
    [row] = rows(incident["id"])
    assert (row.status, row.attempts) == ("acknowledged", 2)
    assert len(receiver.receiver.received) == 1 and receiver.receiver.duplicates == 1
    [acknowledged] = kinds(incident["id"], "outbound_acknowledged")
    assert acknowledged.after["resent_in_doubt"] is True and "上次发送结果未知" in acknowledged.message
    # The dead worker's late outcome cannot undo the acknowledgement.
    assert not service.record_failure(row.id, token, T0 + timedelta(minutes=6), "late", T0 + timedelta(minutes=7))


def regulator_policy(tmp_path, **line):
    source = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    start = source.index("[regulator]")
    end = source.index("\n[", start + 1)
    values = "\n".join(f"{key} = {value}" for key, value in line.items())
    path = tmp_path / "policy.toml"
    path.write_text(source[:start] + "[regulator]\n" + values + "\n" + source[end:], encoding="utf-8")
    return load_policy(path)


def test_crossing_the_regulator_line_sends_to_the_regulator_once(
        app_ctx, operator_api, receiver, outbound_sender, tmp_path, monkeypatch):
    policy = regulator_policy(tmp_path, users_over=1, users_duration_minutes=60, user_minutes_over=10**9,
                              user_minutes_min_duration_minutes=30)
    monkeypatch.setitem(app_ctx.extensions, "noc_policy", policy)
    factories.subscribers(factories.phones(3))
    db.session.commit()
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        frozen.move_to(T0 + timedelta(minutes=60))
        outbound_sender.run_once(check_regulator=True)      # 60 min is not more than 60: not yet
        assert [r.target for r in rows(incident["id"])] == []
        frozen.move_to(T0 + timedelta(minutes=61))
        outbound_sender.run_once(check_regulator=True)
        frozen.move_to(T0 + timedelta(minutes=70))
        outbound_sender.run_once(check_regulator=True)
        outbound_sender.run_once(check_regulator=True)
    [row] = rows(incident["id"])
    assert (row.target, row.status) == ("regulator", "acknowledged")
    [message] = receiver.receiver.received
    assert message["target"] == "regulator" and message["payload"]["type"] == "regulator_report"
    assert message["payload"]["affected_subscribers"] == 3 and message["payload"]["outage_minutes"] == 61
    assert len(kinds(incident["id"], "regulator_report_started")) == 1
    # The regulator's acknowledgement meets no deadline: the report window is still the dispatch centre's.
    assert deadlines(operator_api, incident["id"])["report"]["met_at"] is None


def test_health_tells_a_failing_receiver_from_a_missing_worker(app_ctx, client, operator_api, receiver, outbound_sender):
    receiver.receiver.fail_next = 5
    with freeze_time(T0) as frozen:
        incident = factories.declared(operator_api, detected_at=T0)
        report(operator_api, incident["id"], acknowledged=False)
        outbound_sender.run_once(check_regulator=False)             # refused: retried in 10 s
        frozen.move_to(T0 + timedelta(seconds=5))
        check = client.get("/healthz").json["checks"]["outbound"]
        assert check["ok"] is True and (check["unacknowledged"], check["failing"]) == (1, 1)
        assert check["last_error"].startswith("HTTP 503")
        frozen.move_to(T0 + timedelta(seconds=10 + 61))            # due for over a minute: nobody is sending
        check = client.get("/healthz").json["checks"]["outbound"]
        assert check["ok"] is False and check["error"] == "outbound_worker_down" and check["overdue"] == 1
