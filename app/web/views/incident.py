"""One incident's page (detail, timeline, panels) and its lifecycle actions: report, respond,
progress update, regrade, responsibility, recover, cancel, close."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from marshmallow import ValidationError

from app.auth.permissions import requires
from app.errors import InvalidInput
from app.extensions import db
from app.incidents import schemas, service
from app.incidents.causes import CAUSES, DEFAULT_PARTY_ZH, CauseCategory
from app.incidents.models import Incident, Status
from app.incidents.timeline_kinds import EventKind
from app.web import forms, lifecycle, panels, stale_forms, timefmt
from app.web.views import bp
from app.web.views.board import elapsed_text
from app.web.views.form_input import attach_invalid, load, put_text, put_time, text_of

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
# The forms a stale post (after log-out) can be given back in, by the endpoint it was posted to.
ACTION_OF_ENDPOINT = {
    "console.report": "report", "console.respond": "respond", "console.post_update": "update",
    "console.regrade": "regrade", "console.set_responsibility": "responsibility", "console.recover": "recover",
    "console.cancel": "cancel",
}
PANEL_FORM_OF_ENDPOINT: dict[str, tuple[str, type[FlaskForm]]] = {
    "console.queue_formal_notice": ("formal", forms.FormalNoticeForm),
    "console.record_dispute": ("dispute", forms.DisputeForm),
    "console.add_rectification": ("rectification", forms.RectificationForm),
}



@bp.get("/incidents/<int:incident_id>")
@requires("view_incidents")
def incident_detail(incident_id: int):
    restored = stale_forms.take(request.path)
    if restored is None:
        return detail_page(incident_id)
    endpoint, formdata = restored
    if endpoint in ACTION_OF_ENDPOINT:
        name = ACTION_OF_ENDPOINT[endpoint]
        return detail_page(incident_id, bound={name: FORM_CLASSES[name](formdata=formdata, prefix=name)})
    if endpoint in PANEL_FORM_OF_ENDPOINT:
        name, form_class = PANEL_FORM_OF_ENDPOINT[endpoint]
        return detail_page(incident_id, panel_forms={name: form_class(formdata=formdata, prefix=name)})
    return detail_page(incident_id)


def detail_page(incident_id: int, bound: dict[str, FlaskForm] | None = None, status: int = 200,
                panel_forms: dict[str, FlaskForm] | None = None):
    """The incident page; ``bound`` holds a lifecycle form and ``panel_forms`` a panel's form
    (formal notice, dispute, decision, rectification) that was refused, shown as typed."""
    incident = service.get_incident(incident_id)
    actions = lifecycle.available_actions(incident, g.current_user)
    action_forms = {name: _blank_form(name, incident) for name in actions}
    action_forms.update({name: form for name, form in (bound or {}).items() if name in actions})
    timeline = service.timeline_of(incident_id)
    affected = service.affected_count(incident)
    report = panels.report_panel(incident)
    compensation = panels.compensation_panel(incident, g.current_user)
    return render_template(
        "web/incident/detail.html", incident=incident, actions=actions, forms=action_forms,
        open_form=next(iter(bound), None) if bound else None, timeline=timeline,
        kind_labels=EventKind.labels(), elapsed=elapsed_text(incident),
        affected=affected, user_minutes=service.user_minutes(incident),
        regulator_reportable=service.regulator_reportable(incident, affected=affected),
        closure_blockers=service.closure_blockers(incident) if incident.status == Status.recovered.value else [],
        cause_labels=CAUSES, category_labels=CauseCategory.labels(), default_parties=DEFAULT_PARTY_ZH,
        deadlines=panels.deadlines_panel(incident), outbound=panels.outbound_panel(incident), notices=panels.notices_panel(incident, g.current_user),
        sms_preview=panels.sms_preview(incident.id, "") if "update" in actions else None,
        compensation=compensation, report=report, report_work=panels.report_work(report, g.current_user),
        panel_forms=_panel_forms(compensation, panel_forms or {}), open_panel_form=next(iter(panel_forms or {}), None),
    ), status


def _panel_forms(compensation: dict[str, Any] | None, refused: dict[str, FlaskForm]) -> dict[str, FlaskForm]:
    blank: dict[str, FlaskForm] = {
        "formal": forms.FormalNoticeForm(formdata=None, prefix="formal"),
        "dispute": forms.DisputeForm(formdata=None, prefix="dispute"),
        "decision": forms.DecisionForm(formdata=None, prefix="decision"),
        "rectification": forms.RectificationForm(formdata=None, prefix="rectification"),
    }
    for entry in (compensation or {}).get("rectifications", []):
        item = entry["item"]
        blank[f"rect-{item.id}"] = forms.RectificationUpdateForm(
            formdata=None, prefix=f"rect-{item.id}", data={"owner": item.owner, "due_date": item.due_date})
    return {**blank, **refused}


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
        return detail_page(incident_id, bound={name: form}, status=422)
    try:
        flash(call(data), "success")
    except InvalidInput as error:
        db.session.rollback()
        attach_invalid(form, error)
        return detail_page(incident_id, bound={name: form}, status=422)
    return redirect(url_for("console.incident_detail", incident_id=incident_id))


def _actor():
    return g.current_user


@bp.post("/incidents/<int:incident_id>/report")
@requires("report")
def report(incident_id: int):
    def build(form):
        payload = {"fault_type": form.fault_type.data.strip(), "scope_summary": form.scope_summary.data.strip()}
        put_time(payload, "estimated_recovery_at", form.estimated_recovery_at.data)
        return load(schemas.ReportSchema(), payload, form)

    def call(data):
        service.report(incident_id, _actor(), fault_type=data["fault_type"], scope_summary=data["scope_summary"],
                       estimated_recovery_at=data.get("estimated_recovery_at"))
        return "已发起上报服务调度中心，待调度中心确认接收"

    return _act("report", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/respond")
@requires("respond")
def respond(incident_id: int):
    def build(form):
        return load(schemas.RespondSchema(), {"responder": form.responder.data.strip(),
                                               "emergency_response": bool(form.emergency_response.data)}, form)

    def call(data):
        incident = service.respond(incident_id, _actor(), **data)
        return f"{incident.responder} 已负责处理" + ("，已启动应急响应" if incident.emergency_response_at else "")

    return _act("respond", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/updates")
@requires("post_update")
def post_update(incident_id: int):
    def build(form):
        return load(schemas.ProgressUpdateSchema(), {"message": form.message.data.strip(),
                                                      "notify_subscribers": bool(form.notify_subscribers.data),
                                                      "public": bool(form.public.data)}, form)

    def call(data):
        service.post_update(incident_id, _actor(), **data)
        return ("进展已发布" + ("，并已在公开状态页展示" if data["public"] else "")
                + ("，并已请求短信通知受影响用户" if data["notify_subscribers"] else ""))

    return _act("update", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/regrade")
@requires("regrade")
def regrade(incident_id: int):
    def build(form):
        payload: dict[str, Any] = {"level": int(form.level.data), "reason": form.reason.data.strip()}
        if form.major.data:
            payload["major"] = form.major.data == "1"
        put_text(payload, "major_reason", form.major_reason.data)
        return load(schemas.RegradeSchema(), payload, form)

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
                    rows[int(index)][field].errors.append(text_of(text))
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
        put_time(payload, "recovered_at", form.recovered_at.data)
        return load(schemas.RecoverSchema(), payload, form)

    def call(data):
        service.recover(incident_id, _actor(), **data)
        return "已确认恢复；恢复通知与分析报告时限开始计时"

    return _act("recover", incident_id, build, call)


@bp.post("/incidents/<int:incident_id>/cancel")
@requires("cancel")
def cancel(incident_id: int):
    def build(form):
        return load(schemas.CancelSchema(), {"reason": form.reason.data.strip()}, form)

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


