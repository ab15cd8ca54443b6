"""The notices panel's routes: the progress-update SMS preview and the formal notice."""
from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for

from app.auth.permissions import requires
from app.notify import service as notify_service
from app.web import forms, panels
from app.web.views import bp
from app.web.views.incident import detail_page


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
        return detail_page(incident_id, status=422, panel_forms={"formal": form})
    result = notify_service.queue_by_operator(incident_id, "formal", form.explanation.data.strip())
    flash(f"正式通知已排队发送，共 {result['queued']:,} 户", "success")
    return redirect(url_for("console.incident_detail", incident_id=incident_id))
