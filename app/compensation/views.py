"""Thin HTTP views for compensation, the responsibility notice and rectification items."""
from __future__ import annotations

from flask import Response, stream_with_context
from flask.views import MethodView

from app.api_blueprint import api_blueprint
from app.auth.access import current_user
from app.auth.permissions import requires
from app.compensation import accountability, ledger
from app.compensation.money import yuan_to_fen
from app.compensation.schemas import (
    CompensationSchema,
    DecisionSchema,
    DisputeSchema,
    EntrySchema,
    RectificationCreateSchema,
    RectificationPatchSchema,
    RectificationSchema,
    ResponsibilityNoticeSchema,
    TimelineEventOutSchema,
)
from app.pagination import PageQuerySchema

blp = api_blueprint("compensation", __name__, description="补偿、责任通报与整改")



@blp.route("/incidents/<int:incident_id>/compensation")
@requires("view_compensation")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, CompensationSchema)
def compensation(args, incident_id):
    """Preview before closure (computed now), the final ledger after; per-subscriber rows and totals."""
    return ledger.compensation_page(incident_id, args["page"], args["per_page"])


@blp.route("/incidents/<int:incident_id>/compensation.csv")
@requires("view_compensation")
@blp.response(200, content_type="text/csv")
def compensation_csv(incident_id):
    """The final ledger for the billing system, streamed (UTF-8 with BOM); 409 before closure."""
    incident, chunks = ledger.billing_csv(incident_id)
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="compensation-{incident.number}.csv"'})


@blp.route("/compensation/<int:entry_id>")
@requires("view_compensation")
@blp.response(200, EntrySchema)
def entry(entry_id):
    """One ledger entry: its inputs, every version and which one is current."""
    return ledger.entry_detail(ledger.get_entry(entry_id))


@blp.route("/compensation/<int:entry_id>/dispute", methods=["POST"])
@requires("dispute_compensation")
@blp.arguments(DisputeSchema)
@blp.response(201, EntrySchema)
def dispute(data, entry_id):
    """Record a subscriber's dispute and the adjusted plan proposed (a new version, awaiting approval)."""
    fen = yuan_to_fen("economic_credit", data["economic_credit"])
    entry_row = ledger.dispute(entry_id, current_user(), reason=data["reason"], economic_credit_fen=fen,
                               data_credit_gb=data["data_credit_gb"])
    return ledger.entry_detail(entry_row)


@blp.route("/compensation/<int:entry_id>/approve", methods=["POST"])
@requires("approve_compensation")
@blp.arguments(DecisionSchema)
@blp.response(200, EntrySchema)
def approve(data, entry_id):
    """A duty manager (never the proposer) approves the proposed plan; it becomes the entry's current version.

    Above the policy's cap the first approval is recorded and the plan stays proposed until a
    second, different duty manager approves it (403 for the proposer or the same approver)."""
    return ledger.entry_detail(ledger.approve(entry_id, current_user(), note=data.get("note")))


@blp.route("/compensation/<int:entry_id>/reject", methods=["POST"])
@requires("reject_compensation")
@blp.arguments(DecisionSchema)
@blp.response(200, EntrySchema)
def reject(data, entry_id):
    """A duty manager (never the proposer) rejects the proposed plan; the current version stays."""
    return ledger.entry_detail(ledger.reject(entry_id, current_user(), note=data.get("note")))


@blp.route("/incidents/<int:incident_id>/responsibility/notice", methods=["POST"])
@requires("notify_responsibility")
@blp.arguments(ResponsibilityNoticeSchema)
@blp.response(201, TimelineEventOutSchema)
def responsibility_notice(data, incident_id):
    """责任通报: notify the units concerned of the attribution; recorded on the timeline."""
    return accountability.issue_responsibility_notice(incident_id, current_user(), message=data["message"])


@blp.route("/incidents/<int:incident_id>/rectifications")
class Rectifications(MethodView):
    @requires("view_compensation")
    @blp.response(200, RectificationSchema(many=True))
    def get(self, incident_id):
        """The incident's rectification items (整改), by due date, with completion and overdue flags."""
        return accountability.list_rectifications(incident_id)

    @requires("manage_rectifications")
    @blp.arguments(RectificationCreateSchema)
    @blp.response(201, RectificationSchema)
    def post(self, data, incident_id):
        """Add a rectification item with owner and due date."""
        return accountability.add_rectification(incident_id, current_user(), **data)


@blp.route("/incidents/<int:incident_id>/rectifications/<int:item_id>", methods=["PATCH"])
@requires("manage_rectifications")
@blp.arguments(RectificationPatchSchema)
@blp.response(200, RectificationSchema)
def update_rectification(data, incident_id, item_id):
    """Change owner, due date or text; or mark completed (with a completion note) / reopen."""
    return accountability.update_rectification(incident_id, item_id, current_user(), **data)
