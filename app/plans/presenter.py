"""Plans as the API and the console show them (owner's name, citing incidents)."""
from __future__ import annotations

from app.auth.models import User
from app.extensions import db
from app.plans import service
from app.plans.models import EmergencyPlan


def plan_dict(plan: EmergencyPlan, owner_names: dict[int, str] | None = None) -> dict:
    owner_name = (owner_names or {}).get(plan.owner_id)
    if owner_name is None:
        owner = db.session.get(User, plan.owner_id)
        owner_name = owner.name if owner else ""
    return {"id": plan.id, "title": plan.title, "summary": plan.summary, "services": plan.services,
            "regions": plan.regions, "owner_id": plan.owner_id, "owner_name": owner_name,
            "review_due_on": plan.review_due_on, "created_at": plan.created_at, "updated_at": plan.updated_at,
            "row_version": plan.row_version}


def plan_page(page: dict) -> dict:
    plans = page["items"]
    ids = {p.owner_id for p in plans}
    names = dict(db.session.query(User.id, User.name).filter(User.id.in_(ids)).all()) if ids else {}
    return {**page, "items": [plan_dict(p, names) for p in plans]}


def plan_detail(plan: EmergencyPlan) -> dict:
    return {**plan_dict(plan), "incidents": [
        {"id": i.id, "number": i.number, "title": i.title, "status": i.status, "drill": i.drill, "cited_at": at}
        for i, at in service.incidents_citing(plan.id)]}


def cited(incident_id: int) -> list[dict]:
    return [{"id": p.id, "title": p.title, "review_due_on": p.review_due_on, "cited_at": at}
            for p, at in service.plans_of(incident_id)]
