"""The console's staff-alert inbox: the warnings and escalations sent to me, acknowledged with a button."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.incidents import service as incidents
from app.staff import service as staff
from app.staff.models import StaffAlert

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def clock():
    with freeze_time(NOW) as frozen:
        yield frozen


@pytest.fixture
def on_call_manager(browser_as):
    manager = browser_as(Role.duty_manager)
    manager.user.on_call = True
    db.session.commit()
    return manager


def raise_alerts(operator_user):
    incident = incidents.declare(operator_user, title="杭州宽带中断", services=["broadband"], regions=["杭州"])
    staff.alert_on_call_duty_managers(incident, "deadline_warning", f"{incident.number} 上报即将到期", "d:1:warning")
    staff.alert_on_call_duty_managers(incident, "deadline_breach", f"{incident.number} 上报已超时", "d:1:tier1")
    db.session.commit()
    return incident


def test_the_inbox_lists_my_alerts_and_acknowledges_one(operator, on_call_manager):
    incident = raise_alerts(operator.user)
    page = on_call_manager.get("/alerts").get_data(as_text=True)
    assert "时限预警" in page and "超时告警" in page and "上报已超时" in page and incident.number in page
    assert '我的告警 <span class="badge alert-count">2</span>' in page
    assert "还没有发给您的告警" in operator.get("/alerts").get_data(as_text=True)

    alert_id = db.session.scalar(select(StaffAlert.id).where(StaffAlert.kind == "deadline_breach"))
    done = on_call_manager.post(f"/alerts/{alert_id}/acknowledge", token_from="/alerts")
    assert done.status_code == 302
    alert = db.session.get(StaffAlert, alert_id)
    db.session.refresh(alert)
    assert alert.acknowledged_by == on_call_manager.user.id and alert.acknowledged_at is not None
    pending = on_call_manager.get("/alerts?pending=1").get_data(as_text=True).split("<table")[1]
    assert "上报即将到期" in pending and "上报已超时" not in pending
    assert "告警已确认" in on_call_manager.get(f"/incidents/{incident.id}").get_data(as_text=True)


def test_only_the_addressee_acknowledges_and_csrf_is_checked(operator, on_call_manager, browser_as):
    raise_alerts(operator.user)
    alert_id = db.session.scalar(select(StaffAlert.id))
    other = browser_as(Role.duty_manager)
    refused = other.post(f"/alerts/{alert_id}/acknowledge", token_from="/alerts")
    assert refused.status_code == 403 and "只能确认发给本人的告警" in refused.get_data(as_text=True)
    no_token = on_call_manager.post(f"/alerts/{alert_id}/acknowledge", with_token=False)
    assert no_token.status_code == 400
    assert browser_as(Role.integration).get("/alerts").status_code == 403
    assert db.session.get(StaffAlert, alert_id).acknowledged_at is None
