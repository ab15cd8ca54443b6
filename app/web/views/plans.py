"""The emergency plans' pages (应急预案): the register, a plan with the incidents citing it, the
create/edit form (duty managers), and citing plans from the incident page."""
from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from app.auth.permissions import may, requires
from app.clock import utcnow
from app.errors import InvalidInput, TransitionNotAllowed
from app.extensions import db
from app.incidents.models import Incident
from app.pagination import paginate
from app.plans import presenter, service
from app.plans.models import EmergencyPlan
from app.policy import current_policy
from app.web import forms
from app.web.forms import REQUIRED, ChineseDateField, length, options, required
from app.web.views import bp
from app.web.views.form_input import attach_invalid


class PlanForm(FlaskForm):
    title = StringField("预案名称", validators=[required(), length(200)])
    summary = TextAreaField("内容摘要", validators=[Optional(), length(10000)],
                            description="适用情形、处置要点、预案文件存放位置")
    services = StringField("适用业务", description="业务名称，多个用逗号或顿号分隔；留空为全部业务")
    regions = StringField("适用区域", description="区域名称，多个用逗号或顿号分隔；留空为全部区域")
    owner_id = SelectField("负责人", coerce=int, validators=[InputRequired(message=REQUIRED)])
    review_due_on = ChineseDateField("下次复审日期", validators=[InputRequired(message=REQUIRED)],
                                     description="到期前按策略天数提醒负责人")
    row_version = HiddenField()


class CiteForm(FlaskForm):
    plan_ids = SelectMultipleField("引用应急预案", coerce=int, validators=[InputRequired(message=REQUIRED)])


def plan_choices(exclude: set[int] | None = None) -> list:
    """The register as (id, title) choices, by title."""
    rows = db.session.execute(db.select(EmergencyPlan.id, EmergencyPlan.title).order_by(EmergencyPlan.title)).all()
    return options([(plan_id, title) for plan_id, title in rows if plan_id not in (exclude or set())])


def _today() -> date:
    return utcnow().astimezone(current_policy().zone).date()


@bp.app_template_global()
def plan_panel(incident: Incident) -> dict:
    """What the incident page shows of plans: those cited, and (for who may) a form citing more."""
    cited = presenter.cited(incident.id)
    can_cite = incident.is_open and may(g.current_user, "cite_plan")
    form = None
    if can_cite:
        form = CiteForm(prefix="cite")
        form.plan_ids.choices = plan_choices({p["id"] for p in cited})
    return {"cited": cited, "form": form if form is not None and form.plan_ids.choices else None}


@bp.get("/plans")
@requires("view_plans")
def plans():
    page = paginate(service.list_plans(request.args.get("q")), max(1, request.args.get("page", 1, type=int)), 50)
    page = presenter.plan_page(page)
    counts = service.citing_counts([p["id"] for p in page["items"]])
    return render_template("web/plans/list.html", page=page, counts=counts, today=_today(),
                           reminder_days=current_policy().plans["review_reminder_days"],
                           can_edit=may(g.current_user, "manage_plans"), q=request.args.get("q", ""))


@bp.get("/plans/<int:plan_id>")
@requires("view_plans")
def plan_detail(plan_id: int):
    plan = presenter.plan_detail(service.get_plan(plan_id))
    return render_template("web/plans/detail.html", plan=plan, today=_today(),
                           can_edit=may(g.current_user, "manage_plans"))


def _form(plan: EmergencyPlan | None = None) -> PlanForm:
    form = PlanForm(obj=None)
    form.owner_id.choices = options([(u.id, u.name) for u in service.owners()])
    if plan is not None and request.method == "GET":
        form.title.data, form.summary.data = plan.title, plan.summary
        form.services.data = "、".join(_service_label(s) for s in plan.services)
        form.regions.data = "、".join(plan.regions)
        form.owner_id.data, form.review_due_on.data = plan.owner_id, plan.review_due_on
        form.row_version.data = str(plan.row_version)
    return form


def _service_label(code: str) -> str:
    from app.service_names import service_name

    return service_name(code)


def _input(form: PlanForm) -> service.PlanInput:
    return service.PlanInput(title=form.title.data or "", summary=form.summary.data or "",
                             services=forms.service_codes(form.services.data), regions=forms.region_codes(form.regions.data),
                             owner_id=form.owner_id.data, review_due_on=form.review_due_on.data)


@bp.route("/plans/new", methods=["GET", "POST"])
@requires("manage_plans")
def plan_new():
    form = _form()
    if request.method == "POST" and form.validate():
        try:
            plan = service.create_plan(g.current_user, _input(form))
        except InvalidInput as error:
            db.session.rollback()
            attach_invalid(form, error)
        else:
            flash(f"已登记应急预案「{plan.title}」", "success")
            return redirect(url_for("console.plan_detail", plan_id=plan.id))
    return render_template("web/plans/form.html", form=form, plan=None), 422 if form.errors or form.form_errors else 200


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@requires("manage_plans")
def plan_edit(plan_id: int):
    plan = service.get_plan(plan_id)
    form = _form(plan)
    if request.method == "POST" and form.validate():
        version = int(form.row_version.data) if (form.row_version.data or "").isdigit() else None
        try:
            service.update_plan(plan_id, g.current_user, _input(form), expected_version=version)
        except (InvalidInput, TransitionNotAllowed) as error:
            db.session.rollback()
            if isinstance(error, InvalidInput):
                attach_invalid(form, error)
            else:
                form.form_errors.append(error.message)
        else:
            flash("预案已保存", "success")
            return redirect(url_for("console.plan_detail", plan_id=plan_id))
    return render_template("web/plans/form.html", form=form, plan=plan), 422 if form.errors or form.form_errors else 200


@bp.post("/incidents/<int:incident_id>/plans")
@requires("cite_plan")
def cite_plans(incident_id: int):
    form = CiteForm(prefix="cite")
    form.plan_ids.choices = plan_choices()
    if not form.validate():
        flash("未引用：请选择预案 (choose at least one plan)", "error")
    else:
        try:
            service.cite(incident_id, form.plan_ids.data, g.current_user)
        except (InvalidInput, TransitionNotAllowed) as error:
            db.session.rollback()
            flash(f"未引用：{error.message}", "error")
        else:
            flash("已引用应急预案", "success")
    return redirect(url_for("console.incident_detail", incident_id=incident_id) + "#plans")
