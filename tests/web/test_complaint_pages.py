"""Console complaint pages: the phone form, the board (overdue first, mine), the complaint page with
its limits, history, actions and linked incident, the incident's complaint count, the measures."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.auth.models import Role
from app.clock import utcnow
from app.complaints.models import Complaint
from app.extensions import db
from tests.complaints.helpers import subscriber
from app.web.timefmt import localtime, utc_to_wall_clock
from tests.factories import declared as declare

FORM = {"phone": "139 0013 9000", "name": "李娜", "channel": "phone", "category": "service_quality", "grade": "1",
        "content": "手机上网时断时续"}


def test_an_agent_registers_on_the_phone_and_sees_the_linked_incident(browser_as, operator_api):
    agent = browser_as(Role.agent)
    subscriber()
    expected = (utcnow() + timedelta(hours=5)).replace(second=0, microsecond=0)
    incident = declare(operator_api, estimated_recovery_at=expected.isoformat())
    response = agent.post("/complaints/new", FORM, token_from="/complaints/new")
    assert response.status_code == 302
    page = agent.get(response.headers["Location"]).get_data(as_text=True)
    complaint = db.session.scalar(select(Complaint))
    assert complaint.number in page and incident["number"] in page and localtime(expected) in page
    assert "初步调查" in page and "受理投诉" in page        # limits panel and history
    assert 'name="feedback-result"' in page and "<script>" not in page
    incident_page = agent.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert "投诉 1 件" in incident_page


def test_a_bad_phone_is_shown_on_its_field_and_nothing_is_registered(browser_as):
    agent = browser_as(Role.agent)
    response = agent.post("/complaints/new", {**FORM, "phone": "12"}, token_from="/complaints/new")
    assert response.status_code == 422 and "号码" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_the_board_puts_overdue_first_and_filters_mine(browser_as):
    agent, other = browser_as(Role.agent), browser_as(Role.agent)
    other.post("/complaints/new", {**FORM, "category": "billing"}, token_from="/complaints/new")
    two_days_ago = utc_to_wall_clock(utcnow() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    agent.post("/complaints/new", {**FORM, "category": "business", "received_at": two_days_ago},
               token_from="/complaints/new")
    fresh, late = db.session.scalars(select(Complaint.number).order_by(Complaint.id)).all()
    board = agent.get("/complaints").get_data(as_text=True)
    mine = agent.get("/complaints?mine=1").get_data(as_text=True)
    assert board.index(late) < board.index(fresh)  # the overdue one first
    assert "已超时" in board
    assert late in mine and fresh not in mine


def test_feedback_from_the_page_once_then_refused_without_change(browser_as):
    agent = browser_as(Role.agent)
    agent.post("/complaints/new", {**FORM, "category": "billing"}, token_from="/complaints/new")
    complaint = db.session.scalar(select(Complaint))
    path = f"/complaints/{complaint.id}"
    done = agent.post(f"{path}/feedback", {"feedback-result": "已退款 20 元", "feedback-send_sms": "y"}, token_from=path)
    assert done.status_code == 302
    again = agent.post(f"{path}/feedback", {"feedback-result": "再退一次"}, token_from=path, follow_redirects=True)
    text = again.get_data(as_text=True)
    assert "不允许" in text and "已退款 20 元" in text and "再退一次" not in text
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).result == "已退款 20 元"


def test_measures_page_and_masked_csv(browser_as):
    agent = browser_as(Role.agent)
    agent.post("/complaints/new", {**FORM, "category": "billing"}, token_from="/complaints/new")
    page = agent.get("/complaints/summary").get_data(as_text=True)
    assert "目标 ≥ 95%" in page and "投诉登记" in page
    csv_text = agent.get("/complaints/export.csv").get_data(as_text=True)
    assert "+86139****9000" in csv_text and "+8613900139000" not in csv_text
