"""GET /incidents/{id}/outbound-reports: the delivery state of the incident's 上报 and regulator reports."""
from __future__ import annotations

from app.api_blueprint import api_blueprint
from app.auth.permissions import requires
from app.incidents.service import get_incident
from app.outbound import service
from app.outbound.schemas import DeliverySchema

blp = api_blueprint("outbound", __name__, description="对外报送：上报调度中心与监管报送 (outbound reports)")


@blp.route("/incidents/<int:incident_id>/outbound-reports")
@requires("view_outbound_reports")
@blp.response(200, DeliverySchema(many=True))
def deliveries(incident_id):
    """Each message owed to the dispatch centre or the regulator: attempts, errors, acknowledgement."""
    get_incident(incident_id)
    return [service.describe(row) for row in service.deliveries_of(incident_id)]
