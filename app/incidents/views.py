"""Thin HTTP views: parse with a schema, call one service function, dump with a schema."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import abort

from app.api_blueprint import api_blueprint
from app.auth.access import current_user
from app.auth.permissions import requires
from app.incidents import service
from app.incidents.schemas import (
    CancelSchema,
    IncidentCreateSchema,
    IncidentListQuerySchema,
    LIVE_IMPACT_FIELDS,
    IncidentSchema,
    ProgressUpdateSchema,
    RecoverSchema,
    RegradeSchema,
    ReportSchema,
    RespondSchema,
    ResponsibilityEntrySchema,
    TimelineEventSchema,
)
from app.pagination import PageQuerySchema, page_envelope_schema

blp = api_blueprint("incidents", __name__, url_prefix="/incidents", description="故障单：登记、上报、响应、恢复、闭环")

# The list leaves out the live impact figures: each is a count over every affected subscriber.


class IncidentSummarySchema(IncidentSchema):
    class Meta:
        exclude = (*sorted(LIVE_IMPACT_FIELDS), "complaint_count", "plans")  # a query per row: the detail has them


IncidentPageSchema = page_envelope_schema(IncidentSummarySchema, "IncidentPage")


class IncidentListQuery(IncidentListQuerySchema, PageQuerySchema):
    pass


@blp.route("")
class Incidents(MethodView):
    @requires("view_incidents")
    @blp.arguments(IncidentListQuery, location="query")
    @blp.response(200, IncidentPageSchema)
    def get(self, args):
        """List incidents, newest first (filter by status, level, major, breached), each with its next deadline."""
        page, per_page = args.pop("page"), args.pop("per_page")
        return service.incident_page(service.list_incidents(**args), page, per_page)

    @requires("declare")
    @blp.arguments(IncidentCreateSchema)
    @blp.response(201, IncidentSchema)
    def post(self, data):
        """Declare an incident (登记); the grade is proposed from the scope unless given."""
        return service.declare(current_user(), **data)


def _with_etag(incident):
    """The incident and its row_version as a strong ETag (for If-Match)."""
    return incident, 200, {"ETag": f'"{incident.row_version}"'}


def _if_match() -> int | None:
    """The row_version named by If-Match (``"7"``, ``W/"7"``); None when absent or ``*``."""
    header = request.headers.get("If-Match", "").strip()
    if header in ("", "*"):
        return None
    tag = header.removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 9:
        abort(422, message="If-Match: 须为 GET 返回的 ETag，如 \"3\" (must be the ETag from GET, e.g. \"3\")",
              errors={"headers": {"If-Match": ["not an ETag of this incident"]}})
    return int(tag)


@blp.route("/<int:incident_id>")
class IncidentDetail(MethodView):
    @requires("view_incidents")
    @blp.response(200, IncidentSchema)
    def get(self, incident_id):
        return _with_etag(service.get_incident(incident_id))


@blp.route("/<int:incident_id>/report", methods=["POST"])
@requires("report")
@blp.arguments(ReportSchema)
@blp.response(200, IncidentSchema)
def report(data, incident_id):
    """Report to the service dispatch center (上报服务调度中心)."""
    return service.report(incident_id, current_user(), fault_type=data["fault_type"],
                          scope_summary=data["scope_summary"], estimated_recovery_at=data.get("estimated_recovery_at"))


@blp.route("/<int:incident_id>/respond", methods=["POST"])
@requires("respond")
@blp.arguments(RespondSchema)
@blp.response(200, IncidentSchema)
def respond(data, incident_id):
    """A named responder takes charge (响应); major incidents activate emergency response."""
    return service.respond(incident_id, current_user(), **data)


@blp.route("/<int:incident_id>/updates", methods=["POST"])
@requires("post_update")
@blp.arguments(ProgressUpdateSchema)
@blp.response(201, TimelineEventSchema)
def post_update(data, incident_id):
    """Progress update (进展通报), optionally pushed to affected subscribers."""
    return service.post_update(incident_id, current_user(), **data)


@blp.route("/<int:incident_id>/regrade", methods=["POST"])
@requires("regrade")
@blp.arguments(RegradeSchema)
@blp.response(200, IncidentSchema)
def regrade(data, incident_id):
    """Change the grade or the major flag, with a reason; open deadlines are recomputed."""
    return service.regrade(incident_id, current_user(), **data)


@blp.route("/<int:incident_id>/responsibility", methods=["PUT"])
@requires("set_responsibility")
@blp.arguments(ResponsibilityEntrySchema(many=True))
@blp.response(200, IncidentSchema)
def set_responsibility(entries, incident_id):
    """Causes and responsibility shares (责任认定); the shares sum to 100.

    Optional ``If-Match`` with the ETag of GET /incidents/{id}: a stale one is 409 naming the
    current ``row_version`` and changes nothing. Without it, the write applies as it always did."""
    parsed = [service.ResponsibilityEntry(**entry) for entry in entries]
    return _with_etag(service.set_responsibility(incident_id, current_user(), parsed, expected_row_version=_if_match()))


@blp.route("/<int:incident_id>/recover", methods=["POST"])
@requires("recover")
@blp.arguments(RecoverSchema)
@blp.response(200, IncidentSchema)
def recover(data, incident_id):
    """Service restored (已恢复): starts the notice and analysis-report windows."""
    return service.recover(incident_id, current_user(), **data)


@blp.route("/<int:incident_id>/close", methods=["POST"])
@requires("close")
@blp.response(200, IncidentSchema)
def close(incident_id):
    """Close the loop (闭环); 409 lists what is missing."""
    return service.close(incident_id, current_user())


@blp.route("/<int:incident_id>/cancel", methods=["POST"])
@requires("cancel")
@blp.arguments(CancelSchema)
@blp.response(200, IncidentSchema)
def cancel(data, incident_id):
    """Cancel a false alarm (误报撤销) before recovery; stops all deadlines."""
    return service.cancel(incident_id, current_user(), **data)


@blp.route("/<int:incident_id>/timeline")
@requires("view_incidents")
@blp.response(200, TimelineEventSchema(many=True))
def incident_timeline(incident_id):
    """Every event, oldest first, with actor and time."""
    return service.timeline_of(incident_id)
