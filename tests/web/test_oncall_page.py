"""The console's 值班表: who is on duty now, the week's shifts in Beijing time, and a duty manager's form."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.oncall.models import OncallShift


ZONE = ZoneInfo("Asia/Shanghai")


def test_duty_manager_adds_a_shift_in_local_time_and_sees_who_is_on_duty(manager, operator, make_user):
    person, _ = make_user(Role.duty_manager, name="张值班", phone="+8613800138001")
    # Console sessions run on the real clock: a shift from an hour ago (Beijing time) for twelve hours.
    start = (datetime.now(ZONE) - timedelta(hours=1)).replace(second=0, microsecond=0)
    added = manager.post("/oncall/shifts", {"shift-user_id": person.id, "shift-tier": 1,
                                            "shift-starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                                            "shift-ends_at": (start + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M")},
                           token_from="/oncall")
    assert added.status_code == 302, added.get_data(as_text=True)
    page = operator.get("/oncall").get_data(as_text=True)
    (shift,) = db.session.scalars(select(OncallShift)).all()
    assert shift.starts_at == start.astimezone(timezone.utc)
    now_section = page.split("oncall-roster")[0]
    assert "张值班" in now_section and start.strftime("%Y-%m-%d %H:%M") in page and "值班经理" in page
    assert "添加班次" not in page   # the operator reads, never edits
    assert "<script>" not in page


def test_overlapping_shift_is_refused_with_the_reason_and_nothing_saved(manager, make_user):
    person, _ = make_user(Role.duty_manager, name="李值班", phone="+8613800138002")
    form = {"shift-user_id": person.id, "shift-tier": 2, "shift-starts_at": "2026-12-01T08:00",
            "shift-ends_at": "2026-12-01T20:00"}
    assert manager.post("/oncall/shifts", form, token_from="/oncall").status_code == 302
    refused = manager.post("/oncall/shifts", {**form, "shift-starts_at": "2026-12-01T19:00",
                                              "shift-ends_at": "2026-12-01T21:00"}, token_from="/oncall")
    assert refused.status_code == 422 and "重叠" in refused.get_data(as_text=True)
    assert len(db.session.scalars(select(OncallShift)).all()) == 1


def test_operator_may_not_post_a_shift(operator):
    assert operator.post("/oncall/shifts", {}, token_from="/oncall").status_code == 403
