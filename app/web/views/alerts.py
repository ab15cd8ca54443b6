"""The staff-alert inbox (我的告警): the warnings and escalations sent to me, and acknowledging one."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.auth.permissions import requires
from app.pagination import paginate
from app.staff import service as staff_service
from app.staff.models import StaffAlertKind
from app.web import forms
from app.web.views import bp

INBOX_PAGE_SIZE = 50


@bp.get("/alerts")
@requires("view_staff_alerts")
def staff_alerts():
    pending_only = request.args.get("pending") == "1"
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    page = paginate(staff_service.alerts_for(g.current_user, unacknowledged_only=pending_only),
                    page_number, INBOX_PAGE_SIZE, scalars=False)
    return render_template("web/alerts.html", page=page, pending_only=pending_only,
                           kind_labels=StaffAlertKind.labels(),
                           ack_form=forms.ButtonForm(formdata=None, prefix="ack"),
                           last_page=max(1, -(-page["total"] // INBOX_PAGE_SIZE)))


@bp.post("/alerts/<int:alert_id>/acknowledge")
@requires("acknowledge_staff_alert")
def acknowledge_staff_alert(alert_id: int):
    alert = staff_service.acknowledge(alert_id, g.current_user)
    flash(f"已确认告警：{alert.message}", "success")
    return redirect(url_for("console.staff_alerts"))
