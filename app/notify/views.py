"""Thin views: notices of an incident, queuing by hand, and the template preview."""
from __future__ import annotations

from app.api_blueprint import api_blueprint
from app.auth.permissions import requires
from app.incidents.service import get_incident
from app.notify import service
from app.notify.schemas import (
    CapacityQuerySchema,
    PoolPlanSchema,
    NotificationQuerySchema,
    NotificationsSchema,
    PreviewRequestSchema,
    PreviewSchema,
    QueuedSchema,
    QueueNoticeSchema,
)
from app.pagination import paginate

blp = api_blueprint("notices", __name__, description="用户通知：发送进度、手动通知、模板预览")



@blp.route("/incidents/<int:incident_id>/notifications")
@requires("view_notices")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationsSchema)
def notifications(args, incident_id):
    """Counts by kind and status, projected finish vs the notice deadline (flagged late), and the list."""
    incident = get_incident(incident_id)
    summary = service.notification_summary(incident)
    # The total comes from the summary's counts: a million notices are not counted twice per view.
    page = paginate(service.notification_list(incident_id, args["kind"], args["status"]),
                    args["page"], args["per_page"], scalars=False,
                    total=service.listed_total(summary["counts"], args["kind"], args["status"]))
    page["items"] = [row._asdict() for row in page["items"]]
    return {**summary, **page}


@blp.route("/incidents/<int:incident_id>/notices", methods=["POST"])
@requires("queue_notice")
@blp.arguments(QueueNoticeSchema)
@blp.response(201, QueuedSchema)
def queue_notice(data, incident_id):
    """Queue the 故障通知 (outage) or, for a major incident after recovery, the 正式通知 (formal, with explanation)."""
    return service.queue_by_operator(incident_id, data["kind"], data["explanation"])


@blp.route("/notices/preview", methods=["POST"])
@requires("preview_notice")
@blp.arguments(PreviewRequestSchema)
@blp.response(200, PreviewSchema)
def preview(data):
    """Render a notice (or score a given text) and count its SMS segments (UCS-2 70/67, GSM-7 160/153)."""
    return service.preview(data["kind"], data["language"], data["incident_id"], data["context"], data["text"])


@blp.route("/notices/capacity")
@requires("view_notices")
@blp.arguments(CapacityQuerySchema, location="query")
@blp.response(200, PoolPlanSchema)
def capacity(args):
    """Before queuing: can the sender pool send N messages × segments by the deadline, behind what
    is due before it? And if not, how many sending numbers it would take."""
    return service.capacity_plan(args["messages"], args["segments"], args["deadline_minutes"])
