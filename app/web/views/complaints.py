"""Complaints in the console (投诉): the board, the form an agent fills on the phone, the
complaint page with its history, limits, actions and linked incident, and the measures.

Every action loads its form through the API's own schema and calls the one service function
the API calls; a refusal is shown on the complaint page and changes nothing.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Response, flash, g, redirect, render_template, request, stream_with_context, url_for
from flask_wtf import FlaskForm

from app.auth.permissions import may, requires
from app.complaints import measures, schemas, service
from app.complaints.models import Category, Channel, Complaint, Grade, Status
from app.errors import DomainError, InvalidInput, TransitionNotAllowed
from app.extensions import db
from app.incidents.models import Status as IncidentStatus
from app.incidents.service import get_incident
from app.pagination import paginate
from app.scheduling import complaints as complaint_deadlines
from app.scheduling.models import ComplaintDeadlineKind
from app.web import complaint_forms as cforms
from app.web import grade_preview, messages, panels
from app.web.forms import single_code
from app.web.views import bp
from app.web.views.form_input import attach_invalid, load, put_text, put_time

PAGE_SIZE = 50
LABELS = {
    "category": Category.labels(),
    "channel": Channel.labels(),
    "status": Status.labels(),
    "grade": Grade.labels(),
}


@bp.get("/complaints")
@requires("view_complaints")
def complaints_board():
    filters = cforms.ComplaintFilterForm(request.args)
    criteria: dict[str, Any] = {}
    if filters.validate():
        criteria = {key: value for key, value in (
            ("category", filters.category.data or None), ("status", filters.status.data or None),
            ("grade", int(filters.grade.data) if filters.grade.data else None),
            ("overdue", True if filters.overdue.data == "1" else None),
            ("agent", g.current_user.name if filters.mine.data == "1" else None),
            ("incident_id", request.args.get("incident_id", type=int))) if value is not None}
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    page = paginate(service.list_complaints(**criteria), page_number, PAGE_SIZE)
    ids = [c.id for c in page["items"]]
    return render_template("web/complaints/board.html", filters=filters, page=page, criteria=criteria,
                           cells=complaint_deadlines.board_cells(ids), owners=service.owner_names(
                               c.owner_id for c in page["items"]), labels=LABELS,
                           can_register=may(g.current_user, "register_complaint"),
                           last_page=max(1, -(-page["total"] // PAGE_SIZE)))


@bp.route("/complaints/new", methods=["GET", "POST"])
@requires("register_complaint")
def complaint_register():
    form = cforms.RegisterComplaintForm()
    if request.method == "POST" and form.validate():
        payload = {"phone": form.phone.data.strip(), "name": form.name.data.strip(), "channel": form.channel.data,
                   "category": form.category.data, "grade": int(form.grade.data), "content": form.content.data.strip(),
                   "urgent": bool(form.urgent.data)}
        for name in ("region", "service"):  # typed by name ("西湖区", "宽带"), stored as the catalog's code
            typed = (getattr(form, name).data or "").strip()
            if typed:
                payload[name] = single_code(name, typed)
        put_time(payload, "received_at", form.received_at.data)
        data = load(schemas.ComplaintCreateSchema(), payload, form)
        if data is not None:
            try:
                complaint = service.register(g.current_user, **data)
            except InvalidInput as error:
                db.session.rollback()
                attach_invalid(form, error)
            else:
                flash(f"已受理 {complaint.number}" + ("（重复投诉）" if complaint.repeat else "")
                      + ("，已关联故障" if complaint.incident_id else ""), "success")
                return redirect(url_for("console.complaint_detail", complaint_id=complaint.id))
    status = 422 if form.errors else 200
    return render_template("web/complaints/new.html", form=form, scope=grade_preview.known_scope(markers=False)), status


# --- the complaint page and its actions ------------------------------------------------------

# action → (permission, form class, API schema, service function, the states it applies to)
ACTIONS: dict[str, tuple[str, type[FlaskForm], type, Callable, tuple[Status, ...]]] = {
    "assign": ("assign_complaint", cforms.AssignForm, schemas.AssignSchema, service.assign,
               tuple(s for s in Status if s is not Status.closed)),
    "investigate": ("handle_complaint", cforms.InvestigateForm, schemas.InvestigateSchema, service.investigate,
                    (Status.registered, Status.appealed)),
    "feedback": ("handle_complaint", cforms.FeedbackForm, schemas.FeedbackSchema, service.feedback,
                 (Status.registered, Status.investigated)),
    "follow-up": ("handle_complaint", cforms.FollowUpForm, schemas.FollowUpSchema, service.follow_up,
                  (Status.fed_back,)),
    "close": ("handle_complaint", cforms.CloseForm, schemas.CloseSchema, service.close,
              (Status.followed_up, Status.appeal_reviewed)),
    "appeal": ("accept_appeal", cforms.AppealForm, schemas.AppealSchema, service.accept_appeal,
               (Status.fed_back, Status.followed_up, Status.closed)),
    "appeal-review": ("review_appeal", cforms.AppealReviewForm, schemas.AppealReviewSchema, service.review_appeal,
                      (Status.appealed, Status.appeal_investigated)),
}
ACTION_TITLES = {"assign": "转派", "investigate": "记录调查", "feedback": "反馈处理结果", "follow-up": "回访",
                 "close": "闭环", "appeal": "受理申诉", "appeal-review": "申诉复核"}


def _offered(complaint: Complaint) -> list[str]:
    """The actions this person may take on the complaint in its state (the service still decides)."""
    offered = [name for name, (action, _, _, _, states) in ACTIONS.items()
               if complaint.status in {s.value for s in states} and may(g.current_user, action)]
    return [name for name in offered if not (name == "appeal" and complaint.appealed_at is not None)]


@bp.get("/complaints/<int:complaint_id>")
@requires("view_complaints")
def complaint_detail(complaint_id: int):
    return _detail_page(complaint_id)


def _detail_page(complaint_id: int, bound: dict[str, FlaskForm] | None = None, status: int = 200):
    complaint = service.get_complaint(complaint_id)
    offered = _offered(complaint)
    forms = {name: ACTIONS[name][1](formdata=None, prefix=name) for name in offered}
    forms.update(bound or {})
    incident = get_incident(complaint.incident_id) if complaint.incident_id else None
    return render_template(
        "web/complaints/detail.html", complaint=complaint, forms=forms, titles=ACTION_TITLES, labels=LABELS,
        open_form=next(iter(bound), None) if bound else None, owner=service.owner_names([complaint.owner_id]),
        timeline=service.timeline_of(complaint_id), deadlines=panels.describe_deadline_rows(
            service.deadlines_of(complaint_id)), incident=incident,
        incident_status=IncidentStatus.labels(), overdue=service.is_overdue(complaint_id),
    ), status


def _register_action(name: str) -> None:
    """POST /complaints/{id}/<name>, guarded by the action's own permission."""
    permission, form_class, schema, handler, _ = ACTIONS[name]

    @requires(permission)
    def view(complaint_id: int):
        form = form_class(prefix=name)
        if not form.validate():
            return _detail_page(complaint_id, {name: form}, 422)
        data = load(schema(), _payload(name, form), form)
        if data is None:
            return _detail_page(complaint_id, {name: form}, 422)
        try:
            handler(complaint_id, g.current_user, **data)
        except InvalidInput as error:
            db.session.rollback()
            attach_invalid(form, error)
            return _detail_page(complaint_id, {name: form}, 422)
        except (TransitionNotAllowed, DomainError) as error:
            db.session.rollback()
            if error.status_code == 404:
                raise
            flash(_refusal(error, name), "error")
            return redirect(url_for("console.complaint_detail", complaint_id=complaint_id))
        flash(f"{ACTION_TITLES[name]}：已完成", "success")
        return redirect(url_for("console.complaint_detail", complaint_id=complaint_id))

    view.__name__ = f"complaint_{name.replace('-', '_')}"
    bp.add_url_rule(f"/complaints/<int:complaint_id>/{name}", view.__name__, view, methods=["POST"])


def _refusal(error: DomainError, name: str) -> str:
    state = error.details.get("state")
    if isinstance(error, TransitionNotAllowed) and state in LABELS["status"]:
        return f"当前状态「{LABELS['status'][state]}」不允许「{ACTION_TITLES[name]}」：{error.message}"
    return error.message


def _payload(name: str, form: FlaskForm) -> dict[str, Any]:
    """The form's fields as the API's schema expects them (empty optional text left out)."""
    payload: dict[str, Any] = {}
    for field in form:
        if field.name.endswith("csrf_token"):
            continue
        key = field.name.removeprefix(f"{name}-")
        if key == "satisfaction":
            if field.data:
                payload[key] = int(field.data)
        elif key == "send_sms":
            payload[key] = bool(field.data)
        else:
            put_text(payload, key, field.data)
    return payload


for _name in ACTIONS:
    _register_action(_name)


@bp.post("/incidents/<int:incident_id>/complaints/feedback")
@requires("feed_back_incident_complaints")
def incident_complaints_feedback(incident_id: int):
    """After recovery: feed the result back to every complaint the incident drew, at once."""
    try:
        fed_back = service.feed_back_incident_complaints(incident_id, g.current_user)
    except TransitionNotAllowed as error:
        db.session.rollback()
        flash(messages.describe_transition(error), "error")
    else:
        flash(f"已向 {fed_back} 件关联投诉反馈恢复结果" if fed_back else "没有待反馈的关联投诉", "success")
    return redirect(url_for("console.incident_detail", incident_id=incident_id))


@bp.app_template_global("incident_complaints")
def incident_complaints(incident_id: int) -> dict[str, Any]:
    """For the incident page: how many complaints it drew, and whether this person may feed them back."""
    return {"count": service.complaint_count(incident_id),
            "can_feed_back": may(g.current_user, "feed_back_incident_complaints")}


# --- measures (考核) ---------------------------------------------------------------------------

@bp.get("/complaints/summary")
@requires("view_complaint_measures")
def complaints_summary_page():
    args = _period_args()
    if args is None:
        flash("时间范围无效，已显示最近 30 天 (invalid period ignored)", "error")
        args = {}
    summary = measures.summary(args.get("from_"), args.get("to"))
    return render_template("web/complaints/summary.html", summary=summary, labels=LABELS,
                           limit_labels=ComplaintDeadlineKind.labels(), query=request.args.to_dict())


@bp.get("/complaints/export.csv")
@requires("view_complaint_measures")
def complaints_export_csv():
    args = _period_args() or {}
    chunks = measures.export_csv(args.get("from_"), args.get("to"))
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="complaints.csv"'})


def _period_args() -> dict | None:
    from marshmallow import ValidationError

    raw = {k: v for k, v in request.args.items() if k in ("from", "to") and v}
    try:
        period = schemas.SummaryQuerySchema().load(raw)
        measures.period(period.get("from_"), period.get("to"), measures.current_policy())
    except (ValidationError, InvalidInput):
        return None
    return period
