"""The console's 应急预案 pages, the declare form's drill and plans, and the 演练 badge."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.plans.models import EmergencyPlan, IncidentPlan
from tests import factories


def _plan_form(owner_id: int, **overrides) -> dict:
    return {"title": "宽带大面积中断应急预案", "summary": "OLT 批量退服处置", "services": "宽带", "regions": "杭州、宁波",
            "owner_id": owner_id, "review_due_on": "2027-04-01", **overrides}


def test_a_duty_manager_registers_and_edits_a_plan_and_an_operator_only_reads(manager, operator, make_user):
    owner, _ = make_user(Role.duty_manager, name="赵预案")
    created = manager.post("/plans/new", _plan_form(owner.id), token_from="/plans/new")
    assert created.status_code == 302, created.get_data(as_text=True)
    plan = db.session.scalar(select(EmergencyPlan))
    assert (plan.services, plan.regions, plan.owner_id) == (["broadband"], ["杭州", "宁波"], owner.id)

    refused = manager.post("/plans/new", _plan_form(owner.id, review_due_on="2027-13-01"), token_from="/plans/new")
    assert refused.status_code == 422 and "日期格式" in refused.get_data(as_text=True)
    duplicate = manager.post("/plans/new", _plan_form(owner.id), token_from="/plans/new")
    assert duplicate.status_code == 422 and "已有同名预案" in duplicate.get_data(as_text=True)

    edit_path = f"/plans/{plan.id}/edit"
    edited = manager.post(edit_path, _plan_form(owner.id, review_due_on="2027-09-30", row_version=plan.row_version),
                          token_from=edit_path)
    assert edited.status_code == 302, edited.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(EmergencyPlan, plan.id).review_due_on.isoformat() == "2027-09-30"

    listing = operator.get("/plans").get_data(as_text=True)
    assert "宽带大面积中断应急预案" in listing and "赵预案" in listing and "登记预案" not in listing
    assert operator.get("/plans/new").status_code == 403
    assert "2027-09-30" in operator.get(f"/plans/{plan.id}").get_data(as_text=True)


def test_declaring_a_drill_citing_a_plan_from_the_console_shows_the_badge(operator, make_user):
    owner, _ = make_user(Role.duty_manager)
    plan = EmergencyPlan(title="核心网中断应急预案", summary="", services=[], regions=[], owner_id=owner.id,
                         review_due_on=date(2027, 1, 1), created_by=owner.id,
                         created_at=factories.utcnow(), updated_by=owner.id, updated_at=factories.utcnow())
    db.session.add(plan)
    db.session.commit()
    form = factories.console_form({"title": "核心网中断演练", "services": ["移动数据"], "regions": ["杭州"],
                                   "drill": "y", "plan_ids": str(plan.id)})
    declared = operator.post("/incidents/new", form, token_from="/incidents/new")
    assert declared.status_code == 302, declared.get_data(as_text=True)
    page = operator.get(declared.headers["Location"]).get_data(as_text=True)
    assert 'class="badge drill' in page and "本故障单为演练" in page and "核心网中断应急预案" in page
    board = operator.get("/incidents").get_data(as_text=True)
    assert '<span class="badge drill"' in board
    assert db.session.scalar(select(IncidentPlan.plan_id)) == plan.id


def test_an_operator_cites_a_plan_from_the_incident_page(operator, make_user, app_ctx):
    owner, _ = make_user(Role.duty_manager)
    incident = factories.declare(operator.user)
    plan = EmergencyPlan(title="移动数据中断应急预案", summary="", services=[], regions=[], owner_id=owner.id,
                         review_due_on=date(2027, 1, 1), created_by=owner.id,
                         created_at=factories.utcnow(), updated_by=owner.id, updated_at=factories.utcnow())
    db.session.add(plan)
    db.session.commit()
    path = f"/incidents/{incident.id}"
    page = operator.get(path).get_data(as_text=True)
    assert "尚未引用应急预案" in page and 'badge drill' not in page
    cited = operator.post(f"{path}/plans", {"cite-plan_ids": str(plan.id)}, token_from=path)
    assert cited.status_code == 302
    page = operator.get(path).get_data(as_text=True)
    assert "移动数据中断应急预案" in page and "引用应急预案「移动数据中断应急预案」" in page
