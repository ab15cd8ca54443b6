"""The review reminder: the owner is alerted (inbox and SMS) before a plan lapses, once per review cycle."""
from __future__ import annotations

from datetime import date, datetime, timezone

from freezegun import freeze_time
from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.plans.reminders import remind_due_reviews
from app.staff.models import StaffAlert
from tests.notify.helpers import drain
from tests.plans.helpers import create_plan, plan_body

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)   # 10:00 in Shanghai; the policy reminds 30 days ahead


def _alerts() -> list[StaffAlert]:
    db.session.expire_all()
    return list(db.session.scalars(select(StaffAlert).order_by(StaffAlert.id)))


@freeze_time(NOW)
def test_the_owner_is_reminded_once_per_review_date_and_again_after_a_new_one(api_as, make_user, gateway, sender):
    manager = api_as(Role.duty_manager)
    owner, owner_token = make_user(Role.operator, name="李值班", phone="+8613900000077")
    due_soon = create_plan(manager, owner.id, review_due_on="2026-12-20")
    create_plan(manager, owner.id, title="远期预案", review_due_on="2027-06-01")          # outside the 30 days
    create_plan(manager, owner.id, title="已过期预案", review_due_on="2026-11-20")

    assert remind_due_reviews() == 2
    assert remind_due_reviews() == 0                                                     # a second pass adds nothing
    alerts = _alerts()
    assert [(a.user_id, a.kind) for a in alerts] == [(owner.id, "plan_review_due")] * 2
    assert "「移动数据大面积中断应急预案」复审日期 2026-12-20，还有 19 天到期" in alerts[0].message
    assert "已过复审日期 11 天" in alerts[1].message

    drain(sender)
    bodies = sorted(m["body"] for m in gateway.gateway.messages.values() if m["to"] == "+8613900000077")
    assert len(bodies) == 2 and any("移动数据大面积中断应急预案" in b for b in bodies)

    # Reviewed: a new review date is a new cycle, reminded when it comes within 30 days again.
    manager.put(f"/plans/{due_soon['id']}", json=plan_body(owner.id, review_due_on="2027-12-20"))
    assert remind_due_reviews() == 0
    with freeze_time(datetime(2027, 11, 25, 2, 0, tzinfo=timezone.utc)):
        assert remind_due_reviews() == 2        # the new cycle, and 远期预案 lapsed meanwhile; 已过期预案 was told once
    alerts = _alerts()
    assert len(alerts) == 4 and "2027-12-20，还有 25 天到期" in alerts[2].message
    inbox = api_as(Role.operator).client.get("/api/v1/staff-alerts",
                                            headers={"Authorization": f"Bearer {owner_token}"})
    assert inbox.status_code == 200 and len(inbox.json["items"] if isinstance(inbox.json, dict) else inbox.json) == 4


def test_the_reminder_days_are_policy(app_ctx, api_as, make_user):
    from app.policy import parse_policy

    owner, _ = make_user(Role.duty_manager)
    create_plan(api_as(Role.duty_manager), owner.id, review_due_on=date(2026, 12, 20))
    original = app_ctx.extensions["noc_policy"]
    app_ctx.extensions["noc_policy"] = parse_policy({**original.data, "plans": {"review_reminder_days": 7}})
    try:
        with freeze_time(NOW):
            assert remind_due_reviews() == 0
        with freeze_time(datetime(2026, 12, 13, 2, 0, tzinfo=timezone.utc)):
            assert remind_due_reviews() == 1
    finally:
        app_ctx.extensions["noc_policy"] = original
