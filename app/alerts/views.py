"""Thin HTTP views for alarms in: the webhook, the proposals, declare and dismiss."""
from __future__ import annotations

from flask.views import MethodView

from app.alerts import service
from app.alerts.schemas import (
    DismissSchema,
    IngestResultSchema,
    ProposalQuerySchema,
    ProposalSchema,
    WebhookSchema,
    declare_overrides_schema,
)
from app.api_blueprint import api_blueprint
from app.auth.access import current_user
from app.auth.permissions import requires
from app.pagination import PageQuerySchema, page_envelope_schema, paginate

blp = api_blueprint("alerts", __name__, url_prefix="/alerts", description="告警接入：Alertmanager/Grafana 告警形成故障提案")

ProposalPageSchema = page_envelope_schema(ProposalSchema, "AlertProposalPage")


class ProposalListQuery(ProposalQuerySchema, PageQuerySchema):
    pass


@blp.route("/alertmanager")
class AlertmanagerWebhook(MethodView):
    @requires("ingest_alerts")
    @blp.arguments(WebhookSchema)
    @blp.response(202, IngestResultSchema)
    def post(self, payload):
        """Prometheus Alertmanager (version 4) or Grafana webhook: firing alerts open or join a proposal."""
        return service.ingest(payload["alerts"])


@blp.route("")
class Proposals(MethodView):
    @requires("view_alert_proposals")
    @blp.arguments(ProposalListQuery, location="query")
    @blp.response(200, ProposalPageSchema)
    def get(self, args):
        """Incident proposals formed from alerts, newest first (filter by state)."""
        return paginate(service.list_proposals(args.get("state")), args["page"], args["per_page"])


@blp.route("/<int:proposal_id>/declare")
class Declare(MethodView):
    @requires("decide_alert_proposal")
    @blp.arguments(declare_overrides_schema)
    @blp.response(201, ProposalSchema)
    def post(self, overrides, proposal_id):
        """Declare an incident from the proposal (scope, detected time and title pre-filled; overrides win)."""
        return service.declare(proposal_id, current_user(), **overrides)


@blp.route("/<int:proposal_id>/dismiss")
class Dismiss(MethodView):
    @requires("decide_alert_proposal")
    @blp.arguments(DismissSchema)
    @blp.response(200, ProposalSchema)
    def post(self, data, proposal_id):
        """Dismiss the proposal with a reason; later alerts of its group open a new one."""
        return service.dismiss(proposal_id, current_user(), reason=data["reason"])
