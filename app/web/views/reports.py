"""The analysis report (故障分析报告): the review page (edit the free-text sections, submit,
approve, every version) and the report in its formats."""
from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from app.auth import permissions
from app.auth.permissions import requires
from app.errors import InvalidInput, NotFound, TransitionNotAllowed
from app.extensions import db
from app.incidents import service
from app.policy import current_policy
from app.reports import generator as report_generator
from app.reports import render as report_render
from app.reports import service as report_service
from app.reports.schemas import ReportEditSchema
from app.web import forms, messages, panels, stale_forms
from app.web.views import bp
from app.web.views.form_input import attach_invalid, load

VERSION_MAX = 2**31 - 1  # the column's range: a larger number is no version, not a database error
REPORT_MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}


@bp.get("/incidents/<int:incident_id>/analysis-report")
@requires("view_analysis_report")
def analysis_report_page(incident_id: int):
    restored = stale_forms.take(request.path)
    if restored and restored[0] == "console.edit_analysis_report":
        return _report_page(incident_id, forms.AnalysisReportForm(formdata=restored[1], prefix="report"))
    return _report_page(incident_id)


def _report_page(incident_id: int, edit_form: forms.AnalysisReportForm | None = None, status: int = 200):
    incident = service.get_incident(incident_id)
    report_service.require_recovered(incident, "view")
    report = report_service.report_of(incident_id)
    latest = report_service.free_text(report_service.version_of(report))
    if edit_form is None:
        edit_form = forms.AnalysisReportForm(formdata=None, prefix="report", data={
            **latest, "base_version": report.latest_version if report else 0})
    user = g.current_user
    panel = panels.report_panel(incident)
    state = panel["state"]
    return render_template(
        "web/incident/analysis_report.html", incident=incident, report=panel,
        latest=latest, versions=report_service.versions(incident_id), edit_form=edit_form,
        button_form=forms.ButtonForm(formdata=None, prefix="report-action"),
        may_edit=state == "draft" and permissions.may(user, "edit_analysis_report"),
        may_submit=state == "draft" and incident.status == "recovered" and permissions.may(user, "submit_analysis_report"),
        may_approve=state == "submitted" and permissions.may(user, "approve_analysis_report"),
        submitted_by_me=bool(report and report.submitted_by == user.id),
    ), status


@bp.post("/incidents/<int:incident_id>/analysis-report")
@requires("edit_analysis_report")
def edit_analysis_report(incident_id: int):
    form = forms.AnalysisReportForm(prefix="report")
    payload = {name: form[name].data or "" for name in report_service.FREE_TEXT_FIELDS}
    if form.base_version.data not in (None, ""):
        payload["base_version"] = form.base_version.data
    data = load(ReportEditSchema(), payload, form) if form.validate() else None
    if data is None:
        flash("未保存：请按提示修改后重新提交 (nothing saved; see the highlighted fields)", "error")
        return _report_page(incident_id, form, 422)
    base_version = data.pop("base_version", None)
    try:
        row = report_service.edit(incident_id, g.current_user, data, base_version)
    except InvalidInput as error:
        db.session.rollback()
        attach_invalid(form, error)
        return _report_page(incident_id, form, 422)
    except TransitionNotAllowed as error:
        # Someone saved a newer version (or submitted): keep this text on screen to merge by hand.
        db.session.rollback()
        flash(messages.describe_transition(error), "error")
        return _report_page(incident_id, form, 409)
    flash(f"分析报告已保存为第 {row.version} 版", "success")
    return redirect(url_for("console.analysis_report_page", incident_id=incident_id))


@bp.post("/incidents/<int:incident_id>/analysis-report/submit")
@requires("submit_analysis_report")
def submit_analysis_report(incident_id: int):
    report = report_service.submit(incident_id, g.current_user)
    flash(f"分析报告第 {report.submitted_version} 版已提交服务调度中心，等待审核", "success")
    return redirect(url_for("console.analysis_report_page", incident_id=incident_id))


@bp.post("/incidents/<int:incident_id>/analysis-report/approve")
@requires("approve_analysis_report")
def approve_analysis_report(incident_id: int):
    report_service.approve(incident_id, g.current_user)
    flash("分析报告已审核通过", "success")
    return redirect(url_for("console.analysis_report_page", incident_id=incident_id))


@bp.get("/incidents/<int:incident_id>/analysis-report.<fmt>")
@requires("view_analysis_report")
def analysis_report(incident_id: int, fmt: str):
    """The 故障分析报告 as HTML, Markdown or PDF (``?version=N`` for an earlier text), generated
    by the reports domain."""
    if fmt not in REPORT_MEDIA:
        raise NotFound(f"不支持的报告格式 {fmt} (unknown report format)", format=fmt)
    version = request.args.get("version", type=int)
    if version is not None and not 0 <= version <= VERSION_MAX:
        raise NotFound(f"报告版本 {version} 不存在 (report version not found)", version=version)
    incident = service.get_incident(incident_id)
    report_service.require_recovered(incident, "view")
    doc = report_generator.build(incident, current_policy(), version)
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
    suffix = f"-v{version}" if version is not None else ""
    response.headers["Content-Disposition"] = f'{disposition}; filename="{doc.number}-analysis-report{suffix}.{fmt}"'
    return response
