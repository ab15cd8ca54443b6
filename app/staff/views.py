"""Thin HTTP views of the staff alerts sent to the caller, and acknowledging one."""
from __future__ import annotations

from app.api_blueprint import api_blueprint
from app.auth.access import current_user
from app.auth.permissions import requires
from app.pagination import paginate
from app.staff import service
from app.staff.schemas import StaffAlertPageSchema, StaffAlertQuerySchema, StaffAlertSchema

blp = api_blueprint("staff_alerts", __name__, description="发给值班人员的告警 (staff alerts)")


ALERT_COLUMNS = ("id", "incident_id", "kind", "message", "created_at", "status", "acknowledged_at", "acknowledged_by")


def inbox_row(alert, number: str | None) -> dict:
    return {**{column: getattr(alert, column) for column in ALERT_COLUMNS}, "incident_number": number}


@blp.route("/staff-alerts")
@requires("view_staff_alerts")
@blp.arguments(StaffAlertQuerySchema, location="query")
@blp.response(200, StaffAlertPageSchema)
def staff_alerts(args):
    """The warnings and escalations sent to the caller, newest first."""
    page = paginate(service.alerts_for(current_user(), unacknowledged_only=args["unacknowledged"]),
                    args["page"], args["per_page"], scalars=False)
    return {**page, "items": [inbox_row(alert, number) for alert, number, _title in page["items"]]}


@blp.route("/staff-alerts/<int:alert_id>/acknowledge", methods=["POST"])
@requires("acknowledge_staff_alert")
@blp.response(200, StaffAlertSchema)
def acknowledge(alert_id):
    """Acknowledge an alert sent to the caller (idempotent): who and when are recorded, and its
    escalation stops."""
    service.acknowledge(alert_id, current_user())
    alert, number, _title = service.inbox_entry(current_user(), alert_id)
    return inbox_row(alert, number)
