"""``flask demo`` fills an empty database through the real services, and never mixes silently."""
from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.compensation import engine
from app.compensation.models import RectificationItem
from app.catalog import service as catalog
from app.demo import subscribers_by_city
from app.extensions import db
from app.incidents.models import Incident, Status, TimelineEvent
from app.notify.models import NoticeBatch
from app.reports.models import AnalysisReport
from app.scheduling.models import Deadline
from app.subscribers.models import Subscriber
from app.subscribers.service import upsert_subscriber


def _count(column) -> int:
    return db.session.scalar(select(func.count(column)))


def _counts() -> dict[str, int]:
    return {"incidents": _count(Incident.id), "subscribers": _count(Subscriber.id), "users": _count(User.id),
            "timeline": _count(TimelineEvent.id), "deadlines": _count(Deadline.id)}


def _incident(status: str) -> Incident:
    return db.session.scalars(select(Incident).where(Incident.status == status)).one()


def test_demo_creates_every_state_and_refuses_a_second_run(app_ctx):
    runner = app_ctx.test_cli_runner()

    result = runner.invoke(args=["demo", "--subscribers", "200"])

    assert result.exit_code == 0, result.output
    assert "演示数据已生成" in result.output
    statuses = set(db.session.scalars(select(Incident.status)))
    assert statuses == {s.value for s in Status}
    assert db.session.scalar(select(func.count()).where(Incident.level == 1, Incident.major.is_(True))) >= 1
    assert db.session.scalar(select(func.count()).where(Deadline.state == "breached")) >= 1

    assert _count(Subscriber.id) == 200
    regions = set(db.session.scalars(select(Subscriber.region).distinct()))
    assert len(regions) >= 20 and catalog.unknown("region", regions) == []  # districts of the catalog's tree
    by_city = dict(subscribers_by_city())
    assert {"杭州", "宁波", "温州"} <= set(by_city) and sum(by_city.values()) == 200
    assert "各地市用户数：杭州 " in result.output
    assert db.session.scalar(select(func.count()).where(Subscriber.language == "en")) > 0
    assert db.session.scalar(select(func.count()).where(Subscriber.opted_out_at.is_not(None))) > 0

    closed = _incident(Status.closed.value)
    ledger = engine.final_ledger(closed.id)
    assert ledger is not None and ledger.subscribers > 0 and ledger.economic_credit_fen > 0
    assert db.session.scalar(select(AnalysisReport.state).where(AnalysisReport.incident_id == closed.id)) == "approved"
    assert db.session.scalar(select(func.count()).where(RectificationItem.incident_id == closed.id)) == 1
    recovered = _incident(Status.recovered.value)
    assert db.session.scalar(select(func.count()).where(
        NoticeBatch.incident_id == recovered.id, NoticeBatch.kind == "recovery")) == 1

    for name in ("zhang.wei", "li.na", "wang.fang"):
        assert name in result.output
    manager = db.session.scalars(select(User).where(User.name == "li.na")).one()
    assert manager.role == "duty_manager" and manager.on_call and manager.phone

    before = _counts()
    again = runner.invoke(args=["demo", "--subscribers", "300"])
    assert again.exit_code != 0
    assert "--force" in again.output
    db.session.expire_all()
    assert _counts() == before


def test_demo_with_force_adds_incidents_and_reuses_staff_and_subscribers(app_ctx):
    runner = app_ctx.test_cli_runner()
    assert runner.invoke(args=["demo", "--subscribers", "100"]).exit_code == 0

    result = runner.invoke(args=["demo", "--subscribers", "100", "--force"])

    assert result.exit_code == 0, result.output
    assert "已存在" in result.output
    assert _count(Incident.id) == 14
    assert _count(Subscriber.id) == 100
    assert _count(User.id) == 3


def test_demo_refuses_real_subscribers_without_incidents(app_ctx):
    upsert_subscriber(phone="13800138000", name="真实用户", region="杭州", services=["broadband"], monthly_fee="99")

    result = app_ctx.test_cli_runner().invoke(args=["demo", "--subscribers", "50"])

    assert result.exit_code != 0 and "--force" in result.output
    db.session.expire_all()
    assert _count(Subscriber.id) == 1 and _count(Incident.id) == 0 and _count(User.id) == 0
