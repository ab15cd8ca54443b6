"""Thin HTTP views of the analysis report and the cross-incident review."""
from __future__ import annotations

from datetime import timedelta

from flask import Response, jsonify
from flask.views import MethodView

from app.api_blueprint import api_blueprint
from app.auth.access import current_user
from app.auth.permissions import requires
from app.clock import utcnow
from app.incidents.service import get_incident
from app.policy import current_policy
from app.reports import generator, render, service, summary
from app.reports.models import ReportState
from app.reports.schemas import (
    ReportEditSchema,
    ReportQuerySchema,
    ReportStateSchema,
    ReportVersionSchema,
    SummaryQuerySchema,
)

blp = api_blueprint("reports", __name__, description="故障分析报告与故障回顾 (analysis report and review)")

MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}


def _state(incident_id: int) -> dict:
    report = service.report_of(incident_id)
    if report is None:
        return {"incident_id": incident_id, "state": ReportState.draft.value, "latest_version": 0}
    return report


def _download(body, fmt: str, number: str) -> Response:
    response = Response(body, mimetype=MEDIA[fmt].split(";")[0], content_type=MEDIA[fmt])
    disposition = "attachment" if fmt == "pdf" else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{number}-analysis-report.{fmt}"'
    return response


@blp.route("/incidents/<int:incident_id>/analysis-report")
class AnalysisReport(MethodView):
    @requires("view_analysis_report")
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.alt_response(200, description="format=html|md|pdf: the report as that file")
    @blp.alt_response(503, description="format=pdf where WeasyPrint or its system libraries are missing")
    def get(self, args, incident_id):
        """The 故障分析报告 generated from the incident's data (default JSON; html, md or pdf)."""
        incident = get_incident(incident_id)
        service.require_recovered(incident, "view")
        doc = generator.build(incident, current_policy(), args.get("version"))
        fmt = args["format"]
        if fmt == "json":
            return jsonify(doc.as_json())
        if fmt == "html":
            return _download(render.to_html(doc), fmt, doc.number)
        if fmt == "md":
            return _download(render.to_markdown(doc), fmt, doc.number)
        try:
            pdf = render.to_pdf(doc)
        except render.PdfUnavailable as exc:
            body = jsonify(code=503, message=f"PDF 生成不可用：{exc} (PDF rendering unavailable; "
                                             "use format=html and print, or install Pango for WeasyPrint)")
            return body, 503
        return _download(pdf, fmt, doc.number)

    @requires("edit_analysis_report")
    @blp.arguments(ReportEditSchema)
    @blp.response(200, ReportVersionSchema)
    def put(self, data, incident_id):
        """A reviewer's edit of the free-text sections; every edit is a new version."""
        base_version = data.pop("base_version", None)
        return service.edit(incident_id, current_user(), data, base_version)


@blp.route("/incidents/<int:incident_id>/analysis-report/versions")
@requires("view_analysis_report")
@blp.response(200, ReportVersionSchema(many=True))
def report_versions(incident_id):
    """Every edit of the free-text sections, oldest first."""
    return service.versions(incident_id)


@blp.route("/incidents/<int:incident_id>/analysis-report/submit", methods=["POST"])
@requires("submit_analysis_report")
@blp.response(200, ReportStateSchema)
def submit(incident_id):
    """Submit to the dispatch center (meets the analysis_report deadline); freezes the text."""
    return service.submit(incident_id, current_user())


@blp.route("/incidents/<int:incident_id>/analysis-report/approve", methods=["POST"])
@requires("approve_analysis_report")
@blp.response(200, ReportStateSchema)
def approve(incident_id):
    """A reviewer approves the submitted report."""
    return service.approve(incident_id, current_user())


@blp.route("/reports/summary")
@requires("view_analysis_report")
@blp.arguments(SummaryQuerySchema, location="query")
@blp.alt_response(200, description="format=html: the same figures as a page with charts")
def review_summary(args):
    """Cross-incident review: by grade and cause, compliance per window, mean times, impact, compensation."""
    policy = current_policy()
    end = args.get("end") or utcnow()
    start = args.get("start") or end - timedelta(days=30)
    figures = summary.summarize(start, end, policy)
    if args["format"] == "json":
        return jsonify(figures)
    return Response(render.summary_html(figures, start, end, policy.zone), content_type=MEDIA["html"])
