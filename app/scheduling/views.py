"""GET /incidents/{id}/deadlines."""
from __future__ import annotations

from app.api_blueprint import api_blueprint
from app.auth.permissions import requires
from app.incidents.service import get_incident
from app.scheduling import service
from app.scheduling.schemas import DeadlineSchema

blp = api_blueprint("deadlines", __name__, url_prefix="/incidents", description="时限：上报、响应、恢复、通知、分析报告")


@blp.route("/<int:incident_id>/deadlines")
@requires("view_incidents")
@blp.response(200, DeadlineSchema(many=True))
def incident_deadlines(incident_id):
    """Every deadline of the incident with its state, and how late it is or how much time is left."""
    return service.deadlines_for_api(get_incident(incident_id))
