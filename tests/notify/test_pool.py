"""Sender pools: the global limiter on the identity rows (injected clock), the projection, the
identities the sender sends from, and notices due soonest claimed first."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import claims
from app.clock import utcnow
from app.extensions import db
from app.notify.capacity import plan
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, SenderIdentity
from app.notify.pool import GlobalLimiter, IdentityConfig, parse_identities, sync_identities
from app.notify.sender import Sender
from tests import factories
from tests.notify.helpers import drain

A = IdentityConfig("+8610690001", 10, from_number="+8610690001")
B = IdentityConfig("+8610690002", 20, from_number="+8610690002")


class FakeClock:
    """Epoch seconds that move only when the limiter sleeps (or the test says so)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(clock: FakeClock, *configs: IdentityConfig, burst: float = 0.0) -> GlobalLimiter:
    with db.engine.begin() as connection:
        sync_identities(connection, configs)
    return GlobalLimiter(db.engine, configs, burst_seconds=burst, clock=clock, sleep=clock.sleep)


# -- the limiter -------------------------------------------------------------------------------

def test_reservations_fill_each_identity_at_its_rate_and_the_pool_at_their_sum(app_ctx):
    clock = FakeClock()
    pool = limiter(clock, A, B)
    slots = [pool.reserve(1) for _ in range(300)]     # 300 segments, the clock standing still
    by_identity = {name: [s for s in slots if s.identity.name == name] for name in (A.name, B.name)}
    # The slot that comes first wins: the 20/s number carries twice the 10/s one's share.
    assert len(by_identity[B.name]) == 200 and len(by_identity[A.name]) == 100
    # 300 segments at 30/s: the last slot starts 10 s from now, not earlier.
    assert max(s.starts_at for s in slots) - clock.now == pytest.approx(10 - 1 / 20, abs=1e-6)
    for name, rate in ((A.name, 10), (B.name, 20)):
        starts = sorted(s.starts_at for s in by_identity[name])
        gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
        assert min(gaps) == pytest.approx(1 / rate)    # never two segments closer than the rate allows


def test_two_processes_limiters_share_one_budget(app_ctx):
    clock = FakeClock()
    first, second = limiter(clock, A), limiter(clock, A)    # two sender processes, one identity
    slots = [limiter_.reserve(2) for _ in range(20) for limiter_ in (first, second)]
    starts = sorted(s.starts_at for s in slots)
    # 40 reservations of 2 segments at 10/s, wherever they came from: one every 0.2 s.
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:])] == [0.2] * 39
    assert starts[-1] - clock.now == pytest.approx(7.8)


def test_acquire_waits_for_the_slot_and_idle_time_is_not_saved_up_beyond_the_burst(app_ctx):
    clock = FakeClock()
    pool = limiter(clock, A, burst=0.5)
    # The burst (0.5 s = 5 segments) and the slot starting now go at once; the next waits its turn.
    assert pool.acquire(5).name == A.name and pool.acquire(5).name == A.name and clock.slept == []
    pool.acquire(5)
    assert clock.slept == [pytest.approx(0.5)]
    clock.now += 3600                                                     # an hour idle
    slots = [pool.reserve(1) for _ in range(15)]
    # Only the burst is free at once again, not an hour's worth of segments.
    assert sum(s.wait_seconds < 1e-9 for s in slots) == 6 and slots[-1].wait_seconds == pytest.approx(0.9)


def test_an_unlimited_identity_skips_the_database_and_a_disabled_one_is_not_used(app_ctx):
    clock = FakeClock()
    free = IdentityConfig("+8610690009", 0, from_number="+8610690009")
    assert limiter(clock, free).reserve(1000).wait_seconds == 0
    pool = limiter(clock, A)                         # re-synced to A only: the unlimited one disabled
    enabled = dict(db.session.execute(select(SenderIdentity.name, SenderIdentity.enabled)).all())
    assert enabled == {free.name: False, A.name: True}
    assert {pool.reserve(1).identity.name for _ in range(5)} == {A.name}
    assert pool.total_rate == 10


def test_identities_are_parsed_from_the_environment_and_bad_entries_are_named():
    parsed = parse_identities("+8610690001=100, MG0123=300")
    assert parsed[0].params() == {"from_": "+8610690001"} and parsed[0].segments_per_second == 100
    assert parsed[1].params() == {"messaging_service_sid": "MG0123"}
    for bad in ("+8610690001", "10690001=100", "+8610690001=-1", "+861=1,+861=2"):
        with pytest.raises(ValueError, match="NOC_SMS_IDENTITIES"):
            parse_identities(bad)


# -- the projection ----------------------------------------------------------------------------

def test_a_million_two_segment_notices_on_one_short_code_miss_two_hours_and_need_three():
    one = [IdentityConfig("+86106900", 100)]
    result = plan(2_000_000, one, seconds_left=7200)
    assert result.finish_seconds == pytest.approx(20_000) and result.meets_deadline is False
    assert result.needed_identities == 3                       # 2,000,000 / 7,200 s = 278 segments/s
    assert result.text == "按当前1个号码（共100段/秒），预计5小时34分发完，超出时限（剩余2小时00分）；需要3个号码"


def test_the_projection_counts_the_backlog_ahead_and_says_when_fewer_numbers_do():
    two = [IdentityConfig("+8610690001", 100), IdentityConfig("+8610690002", 100)]
    quick = plan(50_000, two, seconds_left=7200)
    assert quick.meets_deadline is True and quick.needed_identities == 1
    assert quick.text == "按当前2个号码（共200段/秒），预计5分发完，在时限内（剩余2小时00分）；1个号码即可"
    behind = plan(50_000, two, seconds_left=7200, backlog_segments=1_400_000)
    assert behind.meets_deadline is False and behind.needed_identities == 3
    assert plan(10, two, seconds_left=-1).meets_deadline is False
    assert plan(10, [IdentityConfig("+86106900", 0)], seconds_left=60).text == "按当前1个号码，发送不限速"


def test_uneven_rates_take_the_fastest_first_then_more_at_the_average():
    mixed = [IdentityConfig("slow", 50), IdentityConfig("fast", 250)]
    assert plan(250 * 3600, mixed, seconds_left=3600).needed_identities == 1
    assert plan(300 * 3600, mixed, seconds_left=3600).needed_identities == 2
    # 451/s: both give 300, the missing 151/s at their average of 150/s takes two more.
    assert plan(451 * 3600, mixed, seconds_left=3600).needed_identities == 4


# -- the sender ---------------------------------------------------------------------------------

def test_the_sender_sends_from_every_identity_of_the_pool(app_ctx, no_outage_notice, recovered_incident, gateway,
                                                         sender_settings):
    factories.subscribers(factories.phones(40, start=1000))
    recovered_incident()
    pool = (IdentityConfig("+8610690001", 100000, from_number="+8610690001"),
            IdentityConfig("+8610690002", 100000, from_number="+8610690002"))
    sender = Sender(app_ctx, sender_settings.with_(identities=pool))
    try:
        assert drain(sender) == 40
    finally:
        sender.pool.shutdown(wait=True)
    used = [m["from"] for m in gateway.gateway.messages.values()]
    assert len(used) == 40 and set(used) == {"+8610690001", "+8610690002"}
    assert min(used.count("+8610690001"), used.count("+8610690002")) >= 10      # spread, not one number


def test_notices_due_soonest_are_claimed_first(app_ctx, no_outage_notice, recovered_incident, declare):
    factories.subscribers(factories.phones(5, start=1000))
    recovered_incident()                                  # recovery notice: due 2 h after recovery
    open_incident = declare()
    from app.notify.outbox import queue_for_affected

    queue_for_affected(open_incident, NoticeKind.outage)   # no deadline, queued after it
    db.session.execute(Notice.__table__.update().where(Notice.kind == NoticeKind.outage)
                       .values(next_attempt_at=utcnow() - timedelta(hours=1)))   # and fell due long before
    db.session.commit()
    recovery = set(db.session.scalars(select(Notice.id).where(Notice.kind == NoticeKind.recovery)))
    assert len(recovery) == 5 and all(db.session.scalars(select(Notice.deadline_at).where(Notice.id.in_(recovery))))
    first = claims.claim(claims.NOTICES_BY_DEADLINE, "t1", utcnow(), 60, 3)
    assert set(first) <= recovery and len(first) == 3
    # With nothing due by deadline left, the plain claim takes the rest in the order they fell due.
    rest = claims.claim(claims.NOTICES_BY_DEADLINE, "t2", utcnow(), 60, 10)
    assert set(rest) == recovery - set(first)
    assert claims.claim(claims.NOTICES_BY_DEADLINE, "t3", utcnow(), 60, 10) == []
    assert len(claims.claim(claims.NOTICES, "t4", utcnow(), 60, 10)) == 5       # the outage notices


def test_the_incident_notices_say_whether_the_pool_meets_the_deadline(app_ctx, no_outage_notice, recovered_incident,
                                                                      make_user, client):
    from app.auth.models import Role

    factories.subscribers(factories.phones(30, start=1000))
    incident = recovered_incident()
    _, token = make_user(Role.operator)
    body = client.get(f"/api/v1/incidents/{incident.id}/notifications",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    recovery = next(n for n in body["notices"] if n["kind"] == "recovery")
    assert recovery["pool_plan"]["segments"] == 30 * recovery["pool_plan"]["segments"] // 30 > 0
    assert recovery["pool_plan"]["meets_deadline"] is True
    assert recovery["pool_plan"]["text"].startswith("按当前1个号码（共100段/秒），预计1分钟内发完，在时限内")
    what_if = client.get("/api/v1/notices/capacity?messages=1000000&segments=2&deadline_minutes=120",
                         headers={"Authorization": f"Bearer {token}"})
    assert what_if.status_code == 200 and what_if.get_json()["needed_identities"] == 3
    bad = client.get("/api/v1/notices/capacity?messages=-1", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422 and "messages" in bad.get_data(as_text=True)


def test_queuing_the_recovery_notice_warns_when_the_pool_misses_its_deadline(app_ctx, recovered_incident, caplog):
    factories.subscribers(factories.phones(30, start=1000))
    settings = app_ctx.extensions["noc_notify_settings"]
    app_ctx.extensions["noc_notify_settings"] = settings.with_(identities=(IdentityConfig("+8610690001", 0.001),))
    try:
        with caplog.at_level("INFO", logger="app.notify.incident_notices"):
            incident = recovered_incident()
    finally:
        app_ctx.extensions["noc_notify_settings"] = settings
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(incident.number in w and "恢复通知: 30 queued" in w and "超出时限" in w and "需要" in w
               for w in warnings), caplog.text
