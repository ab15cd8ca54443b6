"""The console's pages. Each action view reads its form, loads the data through the API's own
schema, calls the one incidents-service function the API view calls, and says what happened.
No rule lives here: the service refuses what is not allowed and the refusal is shown."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, stream_with_context, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import Forbidden

from app.auth.models import Role
from app.auth.permissions import requires
from app.auth.service import user_for_password
from app.errors import DomainError, InvalidInput, NotFound, TransitionNotAllowed
from app.extensions import db
from app.compensation import ledger
from app.incidents import schemas, service
from app.notify import service as notify_service
from app.reports import generator as report_generator
from app.reports import render as report_render
from app.reports import service as report_service
from app.incidents.causes import CAUSES, DEFAULT_PARTY_ZH, CauseCategory
from app.incidents.models import Incident, Level, Status
from app.incidents.timeline_kinds import EventKind
from app.pagination import paginate
from app.policy import current_policy
from app.service_names import service_name
from app.web import forms, grade_preview, lifecycle, messages, panels, timefmt
from app.web.csrf import csrf
from app.web.session_auth import load_session_user, log_in, log_out, safe_next_url

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static",
               static_url_path="/console-static")

BOARD_PAGE_SIZE = 50
FORM_CLASSES: dict[str, type[FlaskForm]] = {
    "report": forms.ReportForm,
    "respond": forms.RespondForm,
    "update": forms.UpdateForm,
    "regrade": forms.RegradeForm,
    "responsibility": forms.ResponsibilityForm,
    "recover": forms.RecoverForm,
    "cancel": forms.CancelForm,
    "close": forms.ButtonForm,
}


# --- every request: CSRF on each form post, then a logged-in user ---------------------------

@bp.before_request
def _guard():
    if request.endpoint == "console.static":
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()  # raises CSRFError → 400 before anything is read or changed
    if load_session_user() is None and request.endpoint != "console.login":
        if request.method == "GET":
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        flash("请先登录 (please log in)", "error")
        return redirect(url_for("console.login"))
    return None


@bp.context_processor
def _page_context() -> dict[str, Any]:
    user = getattr(g, "current_user", None)
    return {
        "console_user": user,
        "role_label": Role.label_of(user.role) if user else None,
        "logout_form": forms.ButtonForm(formdata=None, prefix="logout") if user else None,
        "can_declare": bool(user and lifecycle.can_declare(user)),
        "zone_name": current_policy().data["timezone"],
        "status_labels": Status.labels(),
        "level_labels": Level.labels(),
    }


@bp.app_template_filter("service_label")
def _service_label_filter(code: str) -> str:
    return service_name(code)


@bp.app_template_filter("localtime")
def _localtime_filter(moment, fmt: str = timefmt.DISPLAY_FORMAT) -> str:
    return timefmt.localtime(moment, fmt)


# --- errors: shown to the person, never a 500 ------------------------------------------------

@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError):
    return render_template("web/error.html", code=400, title="请求已失效",
                           detail=f"表单缺少或带有无效的安全令牌（CSRF），未做任何修改。请刷新页面后重试。({error.description})"), 400


@bp.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return render_template("web/error.html", code=403, title="无权操作", detail=error.description), 403


@bp.errorhandler(NotFound)
def _not_found(error: NotFound):
    db.session.rollback()
    return render_template("web/error.html", code=404, title="未找到", detail=error.message), 404


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    """A refusal the view did not handle itself: say why, change nothing, go back to the incident."""
    db.session.rollback()
    if isinstance(error, TransitionNotAllowed):
        flash(messages.describe_transition(error), "error")
    elif isinstance(error, InvalidInput):
        flash(messages.describe_invalid(error), "error")
    else:
        flash(error.message, "error")
    incident_id = (request.view_args or {}).get("incident_id")
    return redirect(url_for("console.incident_detail", incident_id=incident_id) if incident_id
                    else url_for("console.board"))


# --- log-in --------------------------------------------------------------------------------

@bp.get("/")
def index():
    return redirect(url_for("console.board"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = forms.LoginForm()
    next_url = safe_next_url(request.args.get("next"))
    if request.method == "GET" and getattr(g, "current_user", None) is not None:
        return redirect(next_url or url_for("console.board"))
    if form.validate_on_submit():
        user = user_for_password(form.name.data.strip(), form.password.data)
        if user is not None:
            log_in(user)
            return redirect(next_url or url_for("console.board"))
        form.password.errors.append("用户名或密码错误 (wrong name or password)")
        return render_template("web/login.html", form=form), 401
    return render_template("web/login.html", form=form), 200 if request.method == "GET" else 400


@bp.post("/logout")
def logout():
    log_out()
    flash("已退出登录", "info")
    return redirect(url_for("console.login"))


# --- the board -----------------------------------------------------------------------------

@bp.get("/incidents")
@requires("view_incidents")
def board():
    filters = forms.BoardFilterForm(request.args)
    criteria: dict[str, Any] = {}
    if filters.validate():
        if filters.status.data:
            criteria["status"] = filters.status.data
        if filters.level.data:
            criteria["level"] = int(filters.level.data)
        if filters.major.data:
            criteria["major"] = filters.major.data == "1"
        if filters.breached.data:
            criteria["breached"] = filters.breached.data == "1"
    else:
        flash("筛选条件无效，已显示全部故障 (invalid filter ignored)", "error")
    page_number = request.args.get("page", 1, type=int) or 1
    page = paginate(service.list_incidents(**criteria), max(1, page_number), BOARD_PAGE_SIZE)
    return render_template("web/board.html", filters=filters, page=page, criteria=criteria,
                           elapsed=_elapsed, deadline_cell=panels.board_deadline, last_page=max(1, -(-page["total"] // BOARD_PAGE_SIZE)))


def _elapsed(incident: Incident) -> str:
    """Time since detection; fixed at recovery or cancellation."""
    return timefmt.duration_text(service.outage_minutes_so_far(incident))


# --- declaring -----------------------------------------------------------------------------

@bp.get("/incidents/grade-preview")
@requires("declare")
def grade_preview_json():
    """The grade the service would propose for this scope (for the declare form's live hint)."""
    services = forms.split_list(request.args.get("services"))
    regions = forms.split_list(request.args.get("regions"))
    return jsonify(grade_preview.preview(services, regions))


@bp.route("/incidents/new", methods=["GET", "POST"])
@requires("declare")
def declare():
    form = forms.DeclareForm()
    proposal = None
    if request.method == "POST" and form.validate():
        services, regions = forms.split_list(form.services.data), forms.split_list(form.regions.data)
        proposal = grade_preview.preview(services, regions)
        if "preview" not in request.form:
            payload = _declare_payload(form, services, regions)
            data = _load(schemas.IncidentCreateSchema(), payload, form)
            if data is not None:
                try:
                    incident = service.declare(g.current_user, **data)
                except InvalidInput as error:
                    db.session.rollback()
                    _attach_invalid(form, error)
                else:
                    flash(f"已登记 {incident.number}（建议定级 {incident.proposed_level} 级，定级 {incident.level} 级）",
                          "success")
                    return redirect(url_for("console.incident_detail", incident_id=incident.id))
    elif request.method == "POST":
        services, regions = forms.split_list(form.services.data), forms.split_list(form.regions.data)
        if services and regions:
            proposal = grade_preview.preview(services, regions)
    status = 422 if form.errors else 200
    return render_template("web/declare.html", form=form, proposal=proposal,
                           datalists=grade_preview.known_scope()), status


def _declare_payload(form: forms.DeclareForm, services: list[str], regions: list[str]) -> dict[str, Any]:
    payload: dict[str, Any] = {"title": form.title.data.strip(), "description": form.description.data or "",
                               "services": services, "regions": regions}
    _put_time(payload, "detected_at", form.detected_at.data)
    _put_time(payload, "estimated_recovery_at", form.estimated_recovery_at.data)
    if form.level.data:
        payload["level"] = int(form.level.data)
    _put_text(payload, "level_reason", form.level_reason.data)
    if form.major.data:
        payload["major"] = True
    _put_text(payload, "major_reason", form.major_reason.data)
    return payload


# --- one incident --------------------------------------------------------------------------

@bp.get("/incidents/<int:incident_id>")
@requires("view_incidents")
def incident_detail(incident_id: int):
    return _detail_page(incident_id)


def _detail_page(incident_id: int, bound: dict[str, FlaskForm] | None = None, status: int = 200,
                 formal_form: FlaskForm | None = None):
    incident = service.get_incident(incident_id)
    actions = lifecycle.available_actions(incident, g.current_user)
    action_forms = {name: _blank_form(name, incident) for name in actions}
    action_forms.update({name: form for name, form in (bound or {}).items() if name in actions})
    timeline = service.timeline_of(incident_id)
    affected = service.affected_count(incident)
    return render_template(
        "web/incident/detail.html", incident=incident, actions=actions, forms=action_forms,
        open_form=next(iter(bound), None) if bound else None, timeline=timeline,
        kind_labels=EventKind.labels(), elapsed=_elapsed(incident),
        affected=affected, user_minutes=service.user_minutes(incident),
        regulator_reportable=service.regulator_reportable(incident, affected=affected),
        closure_blockers=service.closure_blockers(incident) if incident.status == Status.recovered.value else [],
        cause_labels=CAUSES, category_labels=CauseCategory.labels(), default_parties=DEFAULT_PARTY_ZH,
        deadlines=panels.deadlines_panel(incident), notices=panels.notices_panel(incident, g.current_user),
        formal_form=formal_form or forms.FormalNoticeForm(formdata=None, prefix="formal"),
        sms_preview=panels.sms_preview(incident.id, "") if "update" in actions else None,
        compensation=panels.compensation_panel(incident), report=panels.report_panel(incident),
    ), status


def _blank_form(name: str, incident: Incident) -> FlaskForm:
    form_class = FORM_CLASSES[name]
    if name == "responsibility":
        rows = service.responsibility_as_dicts(incident)
        blank_rows = max(forms.RESPONSIBILITY_ROWS - len(rows), 2)
        rows += [{"category": "", "sub_cause": "", "party": "", "share": None}] * blank_rows
        return form_class(formdata=None, prefix=name, data={"entries": rows})
    defaults: dict[str, Any] = {}
    if name == "report" and incident.estimated_recovery_at:
        defaults["estimated_recovery_at"] = timefmt.utc_to_wall_clock(incident.estimated_recovery_at)
    if name == "respond":
        defaults["emergency_response"] = incident.major
    if name == "regrade":
        defaults["level"] = str(incident.level)
    return form_class(formdata=None, prefix=name, data=defaults)


def _act(name: str, incident_id: int, build, call):
    """Validate the posted form of action ``name``, call the service, and answer like a browser expects."""
    form = FORM_CLASSES[name](prefix=name)
    data = build(form) if form.validate() else None
    if data is None:
        flash("未执行：请按提示修改后重新提交 (nothing changed; see the highlighted fields)", "error")
        return _detail_page(incident_id, bound={name: form}, status=422)
    try:
        flash(call(data), "success")
    except InvalidInput as error:
        db.session.rollback()
        _attach_invalid(form, error)
        return _detail_page(incident_id, bound={name: form}, status=422)
    return redirect(url_for("console.incident_detail", incident_id=incident_id))


def _actor():
    return g.current_user


@bp.post("/incidents/<int:incident_id>/report")
@requires("report")
def report(incident_id: int):
    def build(form):
        payload = {"fault_type": form.fault_type.data.strip(), "scope_summary": form.scope_summary.data.strip()}
        _put_time(payload, "estimated_recovery_at", form.estimated_recovery_at.data)
        return _load(schemas.ReportSchema(), payload, form)

    def call(data):
        service.report(incident_id, _actor(), fault_type=data["fault_type"], scope_summary=data["scope_summary"],
                       estimated_recovery_at=data.get("estimated_recovery_at"))
        return "已上报服务调度中心"

    return _act("report", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/respond")
@requires("respond")
def respond(incident_id: int):
    def build(form):
        return _load(schemas.RespondSchema(), {"responder": form.responder.data.strip(),
                                               "emergency_response": bool(form.emergency_response.data)}, form)

    def call(data):
        incident = service.respond(incident_id, _actor(), **data)
        return f"{incident.responder} 已负责处理" + ("，已启动应急响应" if incident.emergency_response_at else "")

    return _act("respond", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/updates")
@requires("post_update")
def post_update(incident_id: int):
    def build(form):
        return _load(schemas.ProgressUpdateSchema(), {"message": form.message.data.strip(),
                                                      "notify_subscribers": bool(form.notify_subscribers.data)}, form)

    def call(data):
        service.post_update(incident_id, _actor(), **data)
        return "进展已发布" + ("，并已请求短信通知受影响用户" if data["notify_subscribers"] else "")

    return _act("update", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/regrade")
@requires("regrade")
def regrade(incident_id: int):
    def build(form):
        payload: dict[str, Any] = {"level": int(form.level.data), "reason": form.reason.data.strip()}
        if form.major.data:
            payload["major"] = form.major.data == "1"
        _put_text(payload, "major_reason", form.major_reason.data)
        return _load(schemas.RegradeSchema(), payload, form)

    def call(data):
        incident = service.regrade(incident_id, _actor(), **data)
        return f"定级已调整为 {incident.level} 级" + ("（重大服务中断）" if incident.major else "")

    return _act("regrade", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/responsibility")
@requires("set_responsibility")
def set_responsibility(incident_id: int):
    def build(form):
        rows = [row.form for row in form.entries if not row.form.is_blank()]
        payload = [{"category": r.category.data, "sub_cause": r.sub_cause.data,
                    "party": (r.party.data or "").strip() or DEFAULT_PARTY_ZH.get(r.category.data, ""),
                    "share": r.share.data} for r in rows]
        payload = [{k: v for k, v in entry.items() if v not in (None, "")} for entry in payload]
        try:
            return schemas.ResponsibilityEntrySchema(many=True).load(payload)
        except ValidationError as exc:
            for index, problems in exc.messages.items():
                for field, text in problems.items():
                    rows[int(index)][field].errors.append(_text_of(text))
            return None

    def call(entries):
        service.set_responsibility(incident_id, _actor(), [service.ResponsibilityEntry(**e) for e in entries])
        return "原因与责任认定已保存"

    return _act("responsibility", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/recover")
@requires("recover")
def recover(incident_id: int):
    def build(form):
        payload = {"summary": form.summary.data.strip()}
        _put_time(payload, "recovered_at", form.recovered_at.data)
        return _load(schemas.RecoverSchema(), payload, form)

    def call(data):
        service.recover(incident_id, _actor(), **data)
        return "已确认恢复；恢复通知与分析报告时限开始计时"

    return _act("recover", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/cancel")
@requires("cancel")
def cancel(incident_id: int):
    def build(form):
        return _load(schemas.CancelSchema(), {"reason": form.reason.data.strip()}, form)

    def call(data):
        service.cancel(incident_id, _actor(), **data)
        return "已作为误报撤销，所有时限停止"

    return _act("cancel", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/close")
@requires("close")
def close(incident_id: int):
    def call(_):
        service.close(incident_id, _actor())
        return "故障已闭环"

    return _act("close", incident_id, lambda form: {}, call)


# --- the other domains' panels: notices, compensation, the analysis report ------------------

@bp.post("/incidents/<int:incident_id>/sms-preview")
@requires("preview_notice")
def sms_preview(incident_id: int):
    """The progress-update SMS text and segment count for the update form's live preview (JSON)."""
    message = request.form.get("message", "")
    if len(message) > 5000:
        return jsonify(message="进展内容不超过 5000 个字符 (message too long)", field="message"), 422
    return jsonify(panels.sms_preview(incident_id, message))


@bp.post("/incidents/<int:incident_id>/notices/formal")
@requires("queue_notice")
def queue_formal_notice(incident_id: int):
    """正式通知 of a recovered major incident, with the operator's explanation (POST …/notices kind=formal)."""
    form = forms.FormalNoticeForm(prefix="formal")
    if not form.validate():
        flash("未发送：请填写正式通知的详细说明 (nothing queued; the explanation is required)", "error")
        return _detail_page(incident_id, status=422, formal_form=form)
    result = notify_service.queue_by_operator(incident_id, "formal", form.explanation.data.strip())
    flash(f"正式通知已排队发送，共 {result['queued']:,} 户", "success")
    return redirect(url_for("console.incident_detail", incident_id=incident_id))


@bp.get("/incidents/<int:incident_id>/compensation.csv")
@requires("view_compensation")
def compensation_csv(incident_id: int):
    """The same billing CSV the API serves (final ledger only; refused before closure)."""
    incident, chunks = ledger.billing_csv(incident_id)
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="compensation-{incident.number}.csv"'})


REPORT_MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}


@bp.get("/incidents/<int:incident_id>/analysis-report.<fmt>")
@requires("view_analysis_report")
def analysis_report(incident_id: int, fmt: str):
    """The 故障分析报告 as HTML, Markdown or PDF, generated by the reports domain."""
    if fmt not in REPORT_MEDIA:
        raise NotFound(f"不支持的报告格式 {fmt} (unknown report format)", format=fmt)
    incident = service.get_incident(incident_id)
    report_service.require_recovered(incident, "view")
    doc = report_generator.build(incident, current_policy())
    if fmt == "html":
        body = report_render.to_html(doc)
    elif fmt == "md":
        body = report_render.to_markdown(doc)
    else:
        try:
            body = report_render.to_pdf(doc)
        except report_render.PdfUnavailable as exc:
            return render_template("web/error.html", code=503, title="PDF 暂不可用",
                                   detail=f"PDF 生成不可用：{exc}。请使用 HTML 版本并打印。"), 503
    response = Response(body, content_type=REPORT_MEDIA[fmt])
    disposition = "attachment" if fmt == "pdf" else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{doc.number}-analysis-report.{fmt}"'
    return response


# --- form plumbing -------------------------------------------------------------------------

def _put_time(payload: dict, key: str, wall_clock) -> None:
    moment = timefmt.local_to_utc(wall_clock)
    if moment is not None:
        payload[key] = moment.isoformat()


def _put_text(payload: dict, key: str, text: str | None) -> None:
    if text and text.strip():
        payload[key] = text.strip()


def _text_of(messages_: Any) -> str:
    if isinstance(messages_, dict):
        return "；".join(_text_of(m) for m in messages_.values())
    if isinstance(messages_, list):
        return "；".join(_text_of(m) for m in messages_)
    return str(messages_)


def _load(schema: Schema, payload: dict, form: FlaskForm) -> dict | None:
    """The API's own schema checks the console's input too; its complaints land on the form's fields."""
    try:
        return schema.load(payload)
    except ValidationError as exc:
        for field, problems in exc.messages.items():
            target = getattr(form, field, None)
            (target.errors if target is not None else form.form_errors).append(_text_of(problems))
        return None


def _attach_invalid(form: FlaskForm, error: InvalidInput) -> None:
    """Put the service's refusal on the field it names, and flash it."""
    path, message = messages.invalid_field_and_message(error)
    target = getattr(form, path, None)
    if path.startswith("entries.") and hasattr(form, "entries"):
        target = None  # row indices after blank rows were skipped; shown at the top of the form
    if target is not None and hasattr(target, "errors") and isinstance(target.errors, list):
        target.errors.append(message)
    else:
        form.form_errors.append(messages.describe_invalid(error))
    flash(messages.describe_invalid(error), "error")
