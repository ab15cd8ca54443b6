"""GET /metrics: Prometheus text, figures read from the database (true across processes)."""
from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from app.auth.models import Role
from app.clock import utcnow
from app.extensions import db
from app.ops.heartbeats import write_heartbeat
from app.staff.service import alert_on_call_duty_managers
from tests import factories
from tests.notify.helpers import drain


def scrape(client) -> dict:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_queue_send_rate_errors_deadlines_heartbeats_and_latency(
        app_ctx, client, operator_api, make_user, no_outage_notice, recovered_incident, gateway, sender):
    make_user(Role.duty_manager, phone="+8613900000001", on_call=True)
    factories.subscribers(factories.phones(4) + ["+8613800021211"])          # the gateway refuses …21211 (invalid number)
    incident = recovered_incident()
    alert_on_call_duty_managers(incident, "deadline_breach", "测试", dedupe_key="t:1")
    db.session.commit()
    before = scrape(client)
    assert value(before, "noc_database_up") == 1
    assert value(before, "noc_notices", kind="recovery", status="queued") == 5
    assert value(before, "noc_staff_alerts", status="queued") == 1

    drain(sender)
    factories.declared(operator_api, level=1, detected_at=utcnow() - timedelta(days=1))   # four deadlines, all overdue
    write_heartbeat("sender", "sender:test:1", utcnow())
    after = scrape(client)
    assert value(after, "noc_notices", kind="recovery", status="accepted") == 4
    assert value(after, "noc_notices", kind="recovery", status="failed") == 1
    assert value(after, "noc_notices_accepted_total", kind="recovery") == 4
    assert value(after, "noc_notices_accepted_last_minute", kind="recovery") == 4
    assert value(after, "noc_notice_provider_errors", code="21211") == 1
    assert value(after, "noc_staff_alerts", status="sent") == 1
    assert value(after, "noc_deadlines_overdue_unjudged", kind="report") == 1
    assert value(after, "noc_deadlines", kind="recovery_notice", state="met") == 1
    assert value(after, "noc_worker_heartbeat_age_seconds", kind="sender", worker="sender:test:1", role="") >= 0
    declared = {"endpoint": "incidents.Incidents", "method": "POST", "status": "201"}
    # this process's own histogram (the app lives for the whole test session: compare, not count)
    assert (value(after, "noc_http_request_duration_seconds_count", **declared)
            - (value(before, "noc_http_request_duration_seconds_count", **declared) or 0)) == 1


def test_status_lookup_codes_are_counted_by_sms_status_while_usable(app_ctx, client, gateway, sender):
    factories.subscriber("+8613800138001", services=["mobile_data"])
    for phone in ("+8613800138001", "+8613900139009"):        # a subscriber; a number that is nobody's
        assert client.post("/status/lookup", json={"phone": phone}).status_code == 202
    before = scrape(client)
    assert value(before, "noc_status_lookup_codes", status="queued") == 1
    assert value(before, "noc_status_lookup_codes", status="unsent") == 1
    drain(sender)
    assert value(scrape(client), "noc_status_lookup_codes", status="accepted") == 1


def test_metrics_still_answer_when_the_database_is_down(tmp_path):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'noc.db'}"})
    samples = scrape(app.test_client())
    assert value(samples, "noc_database_up") == 0
