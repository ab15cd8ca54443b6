"""The compensation panel's routes: the billing CSV of the final ledger."""
from __future__ import annotations

from flask import Response, stream_with_context

from app.auth.permissions import requires
from app.compensation import ledger
from app.web.views import bp


@bp.get("/incidents/<int:incident_id>/compensation.csv")
@requires("view_compensation")
def compensation_csv(incident_id: int):
    """The same billing CSV the API serves (final ledger only; refused before closure)."""
    incident, chunks = ledger.billing_csv(incident_id)
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="compensation-{incident.number}.csv"'})
