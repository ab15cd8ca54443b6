"""GET/POST /plans, GET/PUT /plans/{id}; GET/POST /incidents/{id}/plans (citing plans)."""
from __future__ import annotations

from flask import request
from flask_smorest import abort

from app.api_blueprint import api_blueprint
from app.auth.access import current_user
from app.auth.permissions import requires
from app.pagination import paginate
from app.plans import presenter, service
from app.plans.schemas import (CitedPlanSchema, CitePlansSchema, PlanDetailSchema, PlanInSchema, PlanListQuerySchema,
                               PlanPageSchema)

blp = api_blueprint("plans", __name__, description="应急预案：预案登记、复审提醒、故障单引用 (emergency plans)")


def _with_etag(body: dict, status: int = 200):
    return body, status, {"ETag": f'"{body["row_version"]}"'}


def _if_match() -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if header in ("", "*"):
        return None
    tag = header.removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 9:
        abort(422, message="If-Match: 须为 GET 返回的 ETag，如 \"3\" (must be the ETag from GET, e.g. \"3\")",
              errors={"headers": {"If-Match": ["not an ETag of this plan"]}})
    return int(tag)


@blp.route("/plans")
@requires("view_plans")
@blp.arguments(PlanListQuerySchema, location="query")
@blp.response(200, PlanPageSchema)
def list_plans(args):
    """The register, soonest review first (search by title; only those due by a day)."""
    query = service.list_plans(args.get("q"), args.get("review_due_by"))
    return presenter.plan_page(paginate(query, args["page"], args["per_page"]))


@blp.route("/plans", methods=["POST"])
@requires("manage_plans")
@blp.arguments(PlanInSchema)
@blp.response(201, PlanDetailSchema)
def create_plan(data):
    """Register a plan: title, scope (services, regions), owner, next review day."""
    plan = service.create_plan(current_user(), service.PlanInput(**data))
    return _with_etag(presenter.plan_detail(plan), 201)


@blp.route("/plans/<int:plan_id>")
@requires("view_plans")
@blp.response(200, PlanDetailSchema)
def get_plan(plan_id):
    """One plan with the incidents (and drills) citing it."""
    return _with_etag(presenter.plan_detail(service.get_plan(plan_id)))


@blp.route("/plans/<int:plan_id>", methods=["PUT"])
@requires("manage_plans")
@blp.arguments(PlanInSchema)
@blp.response(200, PlanDetailSchema)
def update_plan(data, plan_id):
    """Replace a plan's fields (a new review day starts a new reminder cycle); If-Match refuses a stale edit (409)."""
    plan = service.update_plan(plan_id, current_user(), service.PlanInput(**data), expected_version=_if_match())
    return _with_etag(presenter.plan_detail(plan))


@blp.route("/incidents/<int:incident_id>/plans")
@requires("view_incidents")
@blp.response(200, CitedPlanSchema(many=True))
def incident_plans(incident_id):
    """The plans an incident cites."""
    from app.incidents.service import get_incident

    get_incident(incident_id)
    return presenter.cited(incident_id)


@blp.route("/incidents/<int:incident_id>/plans", methods=["POST"])
@requires("cite_plan")
@blp.arguments(CitePlansSchema)
@blp.response(200, CitedPlanSchema(many=True))
def cite_plans(data, incident_id):
    """Cite plans (each once, on the timeline); 409 once the incident is closed or cancelled."""
    service.cite(incident_id, data["plan_ids"], current_user())
    return presenter.cited(incident_id)
