"""The 值班表 page lists the newest escalation chains: the incident, the deadline, the cause, the tier
reached, and whether (and by whom) it was acknowledged."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import Role
from app.clock import utcnow
from app.extensions import db
from app.scheduling.judge import judge_due
from app.staff import service as staff
from app.staff.models import StaffAlert
from tests import factories


def test_the_page_lists_a_breach_chain_and_its_acknowledgement(operator, make_user):
    declarer, _ = make_user(Role.operator)
    manager, _ = make_user(Role.duty_manager, name="王值班", on_call=True, phone="+8613800138009")
    incident = factories.declare(declarer, detected_at=utcnow() - timedelta(minutes=20))   # report overdue
    judge_due()
    db.session.commit()
    page = operator.get("/oncall").get_data(as_text=True)
    chains = page.split("oncall-chains")[1].split("</section>")[0]
    assert incident.number in chains and "上报服务调度中心" in chains and "超时" in chains
    assert "1 值班经理" in chains and "未确认" in chains
    assert "暂无升级" not in chains
    (alert,) = db.session.scalars(select(StaffAlert).where(StaffAlert.user_id == manager.id))
    staff.acknowledge(alert.id, manager)
    chains = operator.get("/oncall").get_data(as_text=True).split("oncall-chains")[1].split("</section>")[0]
    assert "王值班" in chains and "未确认" not in chains


def test_no_chain_says_so(operator):
    page = operator.get("/oncall").get_data(as_text=True)
    assert "暂无升级" in page.split("oncall-chains")[1]
