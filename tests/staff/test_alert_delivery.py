"""Staff alerts are written only through app.staff.service: raised once, claimed by one sender,
re-queued after a dead sender, and their delivery status only moves forward."""
from __future__ import annotations

from datetime import timedelta

from app.auth.models import Role
from app.clock import utcnow
from app.extensions import db
from app.staff import service as staff_alerts
from app.staff.models import StaffAlert


def _one_alert(make_user) -> int:
    make_user(Role.duty_manager, phone="+8613900000001", on_call=True)
    assert staff_alerts.alert_on_call_duty_managers(None, "deadline_breach", "上报时限已超时", "d1:breach") == 1
    assert staff_alerts.alert_on_call_duty_managers(None, "deadline_breach", "上报时限已超时", "d1:breach") == 0
    db.session.commit()
    return db.session.scalar(db.select(StaffAlert.id))


def test_a_claim_left_by_a_dead_sender_is_queued_again_and_only_the_new_claim_records(app_ctx, make_user):
    alert_id = _one_alert(make_user)
    now = utcnow()
    (claimed,) = staff_alerts.claim_queued("first", 10, now, lease_seconds=60)
    db.session.commit()
    assert (claimed.id, claimed.phone, claimed.attempts) == (alert_id, "+8613900000001", 1)
    assert staff_alerts.claim_queued("other", 10, now, lease_seconds=60) == []   # nobody else takes it meanwhile
    assert staff_alerts.release_expired_claims(now + timedelta(seconds=30)) == 0  # the lease still runs

    later = now + timedelta(seconds=61)                                            # the first sender died
    assert staff_alerts.release_expired_claims(later) == 1
    (again,) = staff_alerts.claim_queued("second", 10, later, lease_seconds=60)
    assert again.attempts == 2 and again.in_doubt_since is not None
    staff_alerts.record_attempt(alert_id, "first", accepted=True, retry_at=None, sid="SM-old", error_code=None,
                                now=later)
    staff_alerts.record_attempt(alert_id, "second", accepted=True, retry_at=None, sid="SM-new", error_code=None,
                                now=later)
    db.session.commit()
    alert = db.session.get(StaffAlert, alert_id)
    assert (alert.status, alert.provider_sid) == ("sent", "SM-new")
    assert staff_alerts.release_expired_claims(later + timedelta(hours=1)) == 0  # a sent alert is never re-queued


def test_delivery_statuses_only_move_forward(app_ctx, make_user):
    alert_id = _one_alert(make_user)
    assert staff_alerts.apply_delivery_status(alert_id, "delivered", "SM1", None) is True
    assert staff_alerts.apply_delivery_status(alert_id, "sent", "SM1", None) is False      # late news
    assert staff_alerts.apply_delivery_status(alert_id, "failed", "SM1", "30003") is False
    assert staff_alerts.apply_delivery_status(10**6, "sent", "SM1", None) is False        # no such alert
    db.session.commit()
    assert db.session.get(StaffAlert, alert_id).status == "delivered"
