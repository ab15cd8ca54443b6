"""Declaring an incident (登记), with the grade the service would propose."""
from __future__ import annotations

from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, url_for

from app.auth.permissions import requires
from app.errors import InvalidInput
from app.extensions import db
from app.incidents import schemas, service
from app.web import forms, grade_preview, stale_forms
from app.web.views import bp
from app.web.views.plans import plan_choices
from app.web.views.form_input import attach_invalid, load, put_text, put_time



@bp.get("/incidents/grade-preview")
@requires("declare")
def grade_preview_json():
    """The grade the service would propose for this scope (for the declare form's live hint)."""
    services = forms.service_codes(request.args.get("services"))
    regions = forms.region_codes(request.args.get("regions"))
    return jsonify(grade_preview.preview(services, regions))


@bp.route("/incidents/new", methods=["GET", "POST"])
@requires("declare")
def declare():
    restored = stale_forms.take(request.path) if request.method == "GET" else None
    form = forms.DeclareForm(formdata=restored[1]) if restored else forms.DeclareForm()
    form.plan_ids.choices = plan_choices()
    proposal = None
    if request.method == "POST" and form.validate():
        services, regions = forms.service_codes(form.services.data), forms.region_codes(form.regions.data)
        proposal = grade_preview.preview(services, regions)
        if "preview" not in request.form:
            payload = _declare_payload(form, services, regions)
            data = load(schemas.IncidentCreateSchema(), payload, form)
            if data is not None:
                try:
                    incident = service.declare(g.current_user, **data)
                except InvalidInput as error:
                    db.session.rollback()
                    attach_invalid(form, error)
                else:
                    flash(f"已登记 {incident.number}（建议定级 {incident.proposed_level} 级，定级 {incident.level} 级）",
                          "success")
                    return redirect(url_for("console.incident_detail", incident_id=incident.id))
    elif request.method == "POST":
        services, regions = forms.service_codes(form.services.data), forms.region_codes(form.regions.data)
        if services and regions:
            proposal = grade_preview.preview(services, regions)
    status = 422 if form.errors else 200
    return render_template("web/declare.html", form=form, proposal=proposal,
                           datalists=grade_preview.known_scope()), status


def _declare_payload(form: forms.DeclareForm, services: list[str], regions: list[str]) -> dict[str, Any]:
    payload: dict[str, Any] = {"title": form.title.data.strip(), "description": form.description.data or "",
                               "services": services, "regions": regions}
    put_time(payload, "detected_at", form.detected_at.data)
    put_time(payload, "estimated_recovery_at", form.estimated_recovery_at.data)
    if form.level.data:
        payload["level"] = int(form.level.data)
    put_text(payload, "level_reason", form.level_reason.data)
    if form.major.data:
        payload["major"] = True
    put_text(payload, "major_reason", form.major_reason.data)
    payload["drill"] = bool(form.drill.data)
    payload["plan_ids"] = list(form.plan_ids.data or [])
    return payload


