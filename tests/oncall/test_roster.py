"""The roster (值班表): PUT validation, GET in the policy's zone, and who is on duty across a shift boundary."""
from __future__ import annotations

from datetime import datetime, timezone

from freezegun import freeze_time

from app.auth.models import Role
from app.oncall import service
from app.oncall.models import OncallShift, Tier
from app.extensions import db

# 2026-12-01 08:00 Asia/Shanghai is 00:00 UTC.
WINDOW = {"from": "2026-12-01T00:00:00", "to": "2026-12-02T00:00:00"}


def staff(make_user, role=Role.duty_manager, phone="+8613800138001"):
    user, _ = make_user(role, phone=phone)
    return user


def shift(user, tier, starts, ends):
    return {"user_id": user.id, "tier": tier, "starts_at": starts, "ends_at": ends}


def test_put_then_get_shows_shifts_in_shanghai_time_and_who_is_on_duty(manager_api, make_user, operator_api):
    day, night = staff(make_user), staff(make_user, phone="+8613800138002")
    head = staff(make_user, Role.reviewer, phone="+8613800138003")
    roster = {**WINDOW, "shifts": [shift(day, 1, "2026-12-01T08:00:00", "2026-12-01T20:00:00"),
                                    shift(night, 1, "2026-12-01T20:00:00", "2026-12-02T08:00:00+08:00"),
                                    shift(head, 2, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")]}
    with freeze_time("2026-12-01T11:59:59Z"):   # 19:59:59 in Shanghai: the day shift
        put = manager_api.put("/oncall", json=roster)
        assert put.status_code == 200, put.json
        got = operator_api.get("/oncall", query_string=WINDOW).json
    assert got["from"] == "2026-12-01T00:00:00+08:00"
    assert [(s["name"], s["starts_at"]) for s in got["shifts"]] == [
        (day.name, "2026-12-01T08:00:00+08:00"), (head.name, "2026-12-01T08:00:00+08:00"),
        (night.name, "2026-12-01T20:00:00+08:00")]
    now = {row["tier"]: [p["name"] for p in row["people"]] for row in got["now"]}
    assert now == {1: [day.name], 2: [head.name], 3: []}
    assert got["now"][0]["label"] == "值班经理"
    with freeze_time("2026-12-01T12:00:00Z"):   # 20:00 in Shanghai: handover to the night shift
        now = {row["tier"]: [p["name"] for p in row["people"]] for row in operator_api.get("/oncall").json["now"]}
    assert now == {1: [night.name], 2: [head.name], 3: []}


def test_on_duty_at_the_boundary_is_the_next_shift_only(app_ctx, make_user):
    day, night = staff(make_user), staff(make_user, phone="+8613800138002")
    boundary = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    service.replace_roster(datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2026, 12, 2, tzinfo=timezone.utc), [
        service.ShiftInput(day.id, Tier.duty_manager, datetime(2026, 12, 1, 0, tzinfo=timezone.utc), boundary),
        service.ShiftInput(night.id, Tier.duty_manager, boundary, datetime(2026, 12, 2, tzinfo=timezone.utc)),
    ], day)
    assert [u.id for u in service.people_on_duty(Tier.duty_manager, boundary)] == [night.id]
    just_before = datetime(2026, 12, 1, 11, 59, 59, 999999, tzinfo=timezone.utc)
    assert [u.id for u in service.people_on_duty(Tier.duty_manager, just_before)] == [day.id]


def test_put_replaces_only_the_window(manager_api, make_user):
    person = staff(make_user)
    first = {"from": "2026-12-01T00:00:00", "to": "2026-12-03T00:00:00",
             "shifts": [shift(person, 1, "2026-12-01T08:00:00", "2026-12-01T20:00:00"),
                        shift(person, 1, "2026-12-02T08:00:00", "2026-12-02T20:00:00")]}
    assert manager_api.put("/oncall", json=first).status_code == 200
    second = {**WINDOW, "shifts": [shift(person, 3, "2026-12-01T09:00:00", "2026-12-01T10:00:00")]}
    assert manager_api.put("/oncall", json=second).status_code == 200
    kept = db.session.scalars(db.select(OncallShift).order_by(OncallShift.starts_at)).all()
    assert [(s.tier, s.starts_at.isoformat()) for s in kept] == [
        (3, "2026-12-01T01:00:00+00:00"), (1, "2026-12-02T00:00:00+00:00")]


def test_bad_rosters_are_422_naming_the_field_and_change_nothing(manager_api, make_user):
    person, phoneless = staff(make_user), staff(make_user, phone=None)
    good = shift(person, 1, "2026-12-01T08:00:00", "2026-12-01T20:00:00")
    assert manager_api.put("/oncall", json={**WINDOW, "shifts": [good]}).status_code == 200
    cases = {
        "shifts.0.ends_at": [shift(person, 1, "2026-12-01T10:00:00", "2026-12-01T09:00:00")],
        "shifts.0.user_id": [shift(phoneless, 1, "2026-12-01T10:00:00", "2026-12-01T11:00:00")],
        "shifts.1": [good, shift(person, 1, "2026-12-01T19:00:00", "2026-12-01T21:00:00")],
        "shifts.0.starts_at": [shift(person, 1, "2026-12-05T10:00:00", "2026-12-05T11:00:00")],
    }
    for field, shifts in cases.items():
        response = manager_api.put("/oncall", json={**WINDOW, "shifts": shifts})
        assert response.status_code == 422, (field, response.json)
        assert field in str(response.json), (field, response.json)
    unknown = manager_api.put("/oncall", json={**WINDOW, "shifts": [{**good, "user_id": 999999}]})
    assert unknown.status_code == 422 and "shifts.0.user_id" in str(unknown.json)
    bad_tier = manager_api.put("/oncall", json={**WINDOW, "shifts": [{**good, "tier": 4}]})
    assert bad_tier.status_code == 422 and "tier" in str(bad_tier.json)
    backwards = manager_api.put("/oncall", json={"from": WINDOW["to"], "to": WINDOW["from"], "shifts": []})
    assert backwards.status_code == 422 and "to" in backwards.json["errors"]["json"]
    assert [(s.user_id, s.tier) for s in db.session.scalars(db.select(OncallShift))] == [(person.id, 1)]


def test_only_duty_managers_and_admins_set_the_roster(api_as, operator_api, client):
    assert operator_api.put("/oncall", json={**WINDOW, "shifts": []}).status_code == 403
    assert api_as(Role.admin).put("/oncall", json={**WINDOW, "shifts": []}).status_code == 200
    assert operator_api.get("/oncall").status_code == 200
    assert client.get("/api/v1/oncall").status_code == 401
