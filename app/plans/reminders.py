"""The review reminder: before a plan's review date lapses its owner gets one staff alert (inbox
and SMS through the staff-alert outbox), ``plans.review_reminder_days`` ahead, once per plan per
review cycle. The dedupe key names the plan and its review date, so a second pass, a second
scheduler or a restart adds nothing, and a plan given a new review date is reminded again.
Run by the deadline scheduler's leader every few minutes (``app/scheduling/runner.py``).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.plans.models import EmergencyPlan
from app.policy import Policy, current_policy
from app.staff import service as staff_alerts
from app.staff.models import StaffAlertKind


def dedupe_key(plan: EmergencyPlan) -> str:
    return f"plan-review:{plan.id}:{plan.review_due_on.isoformat()}"


def _message(plan: EmergencyPlan, today) -> str:
    days = (plan.review_due_on - today).days
    when = f"已过复审日期 {-days} 天" if days < 0 else ("今天到期" if days == 0 else f"还有 {days} 天到期")
    return f"应急预案「{plan.title}」复审日期 {plan.review_due_on.isoformat()}，{when}，请复审并更新复审日期。"


def remind_due_reviews(now: datetime | None = None, policy: Policy | None = None) -> int:
    """Queue the reminders now due (one INSERT for all of them) and commit; returns how many were new."""
    policy = policy or current_policy()
    today = (now or utcnow()).astimezone(policy.zone).date()
    horizon = today + timedelta(days=policy.plans["review_reminder_days"])
    due = db.session.scalars(select(EmergencyPlan).where(EmergencyPlan.review_due_on <= horizon)
                             .order_by(EmergencyPlan.id)).all()
    queued = staff_alerts.alert_people([
        {"user_id": plan.owner_id, "kind": StaffAlertKind.plan_review_due.value, "message": _message(plan, today),
         "dedupe_key": dedupe_key(plan)}
        for plan in due
    ])
    db.session.commit()
    return queued
