"""/healthz tells the truth: a sender down with notices waiting, an unreachable database, a full disk."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import event

from app import create_app
from app.clock import utcnow
from app.extensions import db
from app.ops.heartbeats import write_heartbeat

from tests import factories


def test_the_sender_is_down_when_notices_wait_past_the_threshold_with_no_heartbeat(
        app_ctx, client, no_outage_notice, recovered_incident):
    factories.subscribers(factories.phones(3))
    queued_at = utcnow()
    recovered_incident()
    db.session.commit()
    with freeze_time(queued_at + timedelta(seconds=30)):       # waiting, but not long yet
        assert client.get("/healthz").json["checks"]["sms_sender"]["ok"] is True
    with freeze_time(queued_at + timedelta(seconds=90)):       # past NOC_QUEUE_WAIT_SECONDS (60), nobody beating
        answer = client.get("/healthz")
        sender = answer.json["checks"]["sms_sender"]
        assert answer.status_code == 503 and answer.json["status"] == "degraded"
        assert (sender["ok"], sender["error"], sender["sender_alive"]) == (False, "sender_down", False)
        assert sender["oldest_waiting_seconds"] >= 89
        write_heartbeat("sender", "sender:test:1", queued_at)   # a live sender: only busy
        sender = client.get("/healthz").json["checks"]["sms_sender"]
        assert sender["ok"] is True and sender["heartbeat_age_seconds"] == 0
    with freeze_time(queued_at + timedelta(seconds=200)):      # its heartbeat went stale (30 s)
        assert client.get("/healthz").json["checks"]["sms_sender"]["error"] == "sender_down"


def test_an_idle_queue_with_no_sender_is_healthy(app_ctx, client):
    answer = client.get("/healthz")
    assert answer.json["checks"]["sms_sender"]["ok"] is True and answer.json["checks"]["sms_sender"]["sender_alive"] is False


def test_a_subscribers_lookup_code_waiting_with_no_sender_is_sender_down(app_ctx, client):
    """The crowd's "is my line affected?" codes ride the same senders: one waiting past the
    threshold with no live sender is as down as a waiting notice; once expired it waits for nothing."""
    factories.subscriber("+8613800138001", services=["mobile_data"])
    asked_at = utcnow()
    assert client.post("/status/lookup", json={"phone": "+8613800138001"}).status_code == 202
    with freeze_time(asked_at + timedelta(seconds=90)):
        sender = client.get("/healthz").json["checks"]["sms_sender"]
        assert (sender["ok"], sender["error"]) == (False, "sender_down") and sender["oldest_waiting_seconds"] >= 89
    with freeze_time(asked_at + timedelta(hours=2)):       # the code expired: nobody is waiting for it now
        assert client.get("/healthz").json["checks"]["sms_sender"]["ok"] is True


def test_scheduler_heartbeats_are_listed_with_their_role(app_ctx, client):
    write_heartbeat("scheduler", "scheduler:test:7", utcnow(), "active")
    (worker,) = client.get("/healthz").json["checks"]["scheduler"]["workers"]
    assert (worker["worker"], worker["role"]) == ("scheduler:test:7", "active")


@pytest.fixture
def unreachable_app(tmp_path, database_url):
    """The product pointed at a database that is not there (a refused port; a file it cannot open)."""
    if database_url.startswith("postgresql"):
        import socket

        with socket.socket() as probe:      # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/noc"
    else:
        url = f"sqlite:///{tmp_path / 'missing-folder' / 'noc.db'}"
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})


def test_an_unreachable_database_answers_503_everywhere_never_500(unreachable_app):
    client = unreachable_app.test_client()
    auth = {"Authorization": "Bearer some-token"}
    for method, path in [("get", "/api/v1/incidents"), ("post", "/api/v1/incidents"), ("get", "/api/v1/policy"),
                         ("get", "/healthz")]:
        answer = getattr(client, method)(path, headers=auth, json={} if method == "post" else None)
        assert answer.status_code == 503, (path, answer.status_code, answer.get_data(as_text=True)[:300])
        assert answer.is_json
        if path != "/healthz":
            assert answer.headers["Retry-After"] == "5" and answer.json["reason"] == "database_unavailable"
            assert "数据库暂时不可用" in answer.json["message"]
    assert client.get("/healthz").json["checks"]["database"]["ok"] is False
    from app.web.session_auth import SESSION_USER_KEY

    with client.session_transaction() as session:     # a console user who logged in before the outage
        session[SESSION_USER_KEY] = 1
    page = client.get("/")
    assert page.status_code == 503 and page.mimetype == "text/html" and "暂时无法服务" in page.get_data(as_text=True)


def test_sqlite_disk_full_answers_503_with_a_clear_message_and_health_says_so(app_ctx, operator_api, client):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's 'database or disk is full'")
    assert operator_api.post("/incidents", json=_incident()).status_code == 201
    db.session.remove()
    db.engine.dispose()
    with db.engine.connect() as connection:   # no free pages left over from earlier tests to write into
        connection.exec_driver_sql("VACUUM")
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

    def no_room(dbapi_connection, _record):   # the file may not grow: every new page is refused
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(db.engine, "connect", no_room)
    db.engine.dispose()
    try:
        for _ in range(50):                   # until the pages the file has are used up
            answer = operator_api.post("/incidents", json=_incident(description="x" * 4000))
            if answer.status_code != 201:
                break
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert answer.json["reason"] == "disk_full" and "磁盘已满" in answer.json["message"]
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json["checks"]["database"]["error"] == "disk_full"
    finally:
        event.remove(db.engine, "connect", no_room)
        db.session.remove()
        db.engine.dispose()
    assert operator_api.post("/incidents", json=_incident()).status_code == 201   # room again: writes work
    assert client.get("/healthz").json["checks"]["database"]["ok"] is True


def _incident(**extra) -> dict:
    return {"title": "杭州移动数据中断", "description": "基站退服", "services": ["mobile_data"], "regions": ["杭州"],
            **extra}
