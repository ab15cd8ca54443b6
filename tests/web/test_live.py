"""GET /live/changes: what an open board or incident page polls. 304 while nothing changed; a
new version after any change another person (or the scheduler, or the sender) makes; alarms."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from app.extensions import db
from app.incidents import service
from app.notify import service as notify_service
from app.notify.models import Notice
from app.scheduling import judge
from app.web import live
from tests.factories import phones, subscribers

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def clock():
    with freeze_time(NOW) as frozen:
        yield frozen


def poll(browser, etag: str | None = None, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    headers = {"If-None-Match": etag} if etag else {}
    return browser.get(f"/live/changes?{query}", headers=headers)


def declare(user, title="杭州移动数据中断", **overrides):
    return service.declare(user, title=title, services=overrides.pop("services", ["mobile_data"]),
                           regions=["杭州"], detected_at=NOW - timedelta(minutes=5), **overrides)


def test_unchanged_is_a_304_and_any_change_a_new_version(operator, manager):
    incident = declare(operator.user)
    first = poll(manager, incident=incident.id)
    assert first.status_code == 200 and first.headers["ETag"] and first.json["incident"]
    assert first.headers["Cache-Control"].startswith("no-cache")
    etag = first.headers["ETag"]
    again = poll(manager, etag, incident=incident.id)
    assert again.status_code == 304 and again.get_data() == b""

    service.post_update(incident.id, operator.user, message="已派出抢修队", notify_subscribers=False)
    changed = poll(manager, etag, incident=incident.id)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json["board"] != first.json["board"] and changed.json["incident"] != first.json["incident"]


def test_another_incidents_change_moves_the_board_but_not_this_incident(operator, manager):
    watched, other = declare(operator.user), declare(operator.user, "宁波宽带中断")
    before = poll(manager, incident=watched.id).json
    service.post_update(other.id, operator.user, message="进展", notify_subscribers=False)
    after = poll(manager, incident=watched.id).json
    assert after["board"] != before["board"] and after["incident"] == before["incident"]


def test_a_judged_deadline_and_notice_progress_change_the_incident(operator, manager, clock):
    subscribers(phones(3))
    incident = declare(operator.user)
    base = poll(manager, incident=incident.id).json
    clock.tick(timedelta(minutes=11))
    judge.judge_due()  # the report deadline (15 min) breaches
    judged = poll(manager, incident=incident.id).json
    assert judged["incident"] != base["incident"] and judged["board"] != base["board"]

    if not db.session.scalars(select(Notice.id).where(Notice.incident_id == incident.id)).first():
        notify_service.queue_by_operator(incident.id, "outage", None)  # the policy left it to the operator
    live.forget_cached()
    before_sending = poll(manager, incident=incident.id).json
    db.session.execute(update(Notice).where(Notice.incident_id == incident.id).values(status="accepted"))
    db.session.commit()
    live.forget_cached()
    sent = poll(manager, incident=incident.id).json
    assert sent["incident"] != before_sending["incident"] and sent["board"] == before_sending["board"]


def test_alarms_new_level_one_major_and_breaches_after_the_cursor(operator, manager, clock):
    cursor = poll(manager).json["cursor"]
    small = declare(operator.user, "三级小故障")
    level_one = declare(operator.user, "全网核心网中断", services=["core_network"])
    major = declare(operator.user, "重大二级", major=True, major_reason="省会城市")
    cancelled = declare(operator.user, "撤销的一级", services=["core_network"])
    service.cancel(cancelled.id, manager.user, reason="误报")
    alarms = poll(manager, since=cursor).json["alarms"]
    assert [(a["kind"], a["number"]) for a in alarms] == [("declared", level_one.number), ("declared", major.number)]
    assert alarms[0]["url"] == f"/incidents/{level_one.id}" and alarms[0]["level"] == 1

    cursor = poll(manager).json["cursor"]
    clock.tick(timedelta(minutes=11))
    judge.judge_due()
    breaches = poll(manager, since=cursor).json["alarms"]
    assert {a["kind"] for a in breaches} == {"deadline_breached"}
    assert {a["incident_id"] for a in breaches} == {small.id, level_one.id, major.id}  # not the cancelled one
    assert "上报服务调度中心" in breaches[0]["message"]


def test_the_poll_needs_a_login_and_a_page_carries_its_start(console_client, operator):
    assert console_client.get("/live/changes").status_code == 302
    html = operator.get("/incidents").get_data(as_text=True)
    assert 'data-live-url="/live/changes"' in html and "live.js" in html and 'data-live-cursor="' in html
    assert poll(operator, incident=2**40).status_code == 200  # out of range: ignored, not a 500
