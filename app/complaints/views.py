"""Thin HTTP views for complaints: parse with a schema, call one service function, dump with a schema."""
from __future__ import annotations

from flask import Response, stream_with_context
from flask.views import MethodView

from app.api_blueprint import api_blueprint
from app.auth.access import current_user
from app.auth.permissions import requires
from app.complaints import measures, service
from app.complaints.schemas import (
    AppealReviewSchema,
    AppealSchema,
    AssignSchema,
    CloseSchema,
    ComplaintCreateSchema,
    ComplaintDetailSchema,
    ComplaintListQuerySchema,
    ComplaintSchema,
    FeedbackSchema,
    FollowUpSchema,
    IncidentFeedbackResultSchema,
    InvestigateSchema,
    SummaryQuerySchema,
    SummarySchema,
    TimelineEventSchema,
)
from app.pagination import PageQuerySchema, page_envelope_schema, paginate
from app.scheduling.schemas import DeadlineSchema

blp = api_blueprint("complaints", __name__, url_prefix="", description="投诉与申诉：受理、调查、反馈、回访、申诉")

ComplaintPageSchema = page_envelope_schema(ComplaintSchema, "ComplaintPage")


class ComplaintListQuery(ComplaintListQuerySchema, PageQuerySchema):
    pass


@blp.route("/complaints")
class Complaints(MethodView):
    @requires("view_complaints")
    @blp.arguments(ComplaintListQuery, location="query")
    @blp.response(200, ComplaintPageSchema)
    def get(self, args):
        """List complaints, overdue first (filter by status, category, grade, incident, overdue, agent)."""
        page, per_page = args.pop("page"), args.pop("per_page")
        return paginate(service.list_complaints(**args), page, per_page)

    @requires("register_complaint")
    @blp.arguments(ComplaintCreateSchema)
    @blp.response(201, ComplaintDetailSchema)
    def post(self, data):
        """Register a complaint (受理登记): numbered TS-YYYYMMDD-NNNN, linked to its incident, acknowledged by SMS."""
        return service.register(current_user(), **data)


@blp.route("/complaints/summary")
@requires("view_complaint_measures")
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, SummarySchema)
def complaints_summary(args):
    """Measures (考核) over complaints received in [from, to) (default the last 30 days): on-time rate per
    limit against the policy's target, satisfaction, repeat rate, complaints per incident, by agent, category,
    grade and month."""
    return measures.summary(args.get("from_"), args.get("to"))


@blp.route("/complaints/export.csv")
@requires("view_complaint_measures")
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, content_type="text/csv")
def complaints_csv(args):
    """The period's complaints as CSV (UTF-8 with BOM), phones masked."""
    chunks = measures.export_csv(args.get("from_"), args.get("to"))
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="complaints.csv"'})


@blp.route("/complaints/<int:complaint_id>")
@requires("view_complaints")
@blp.response(200, ComplaintDetailSchema)
def complaint(complaint_id):
    """One complaint with its deadlines."""
    return service.get_complaint(complaint_id)


@blp.route("/complaints/<int:complaint_id>/timeline")
@requires("view_complaints")
@blp.response(200, TimelineEventSchema(many=True))
def complaint_timeline(complaint_id):
    """The complaint's history, oldest first."""
    return service.timeline_of(complaint_id)


@blp.route("/complaints/<int:complaint_id>/deadlines")
@requires("view_complaints")
@blp.response(200, DeadlineSchema(many=True))
def complaint_deadlines(complaint_id):
    """Every limit of the complaint (register … appeal_close) with its state."""
    return service.deadlines_of(complaint_id)


def _action(rule: str, action: str, schema, handler, doc: str):
    """POST /complaints/{id}/<rule>: parse ``schema``, call ``handler``, answer the complaint."""

    @requires(action)
    @blp.arguments(schema)
    @blp.response(200, ComplaintDetailSchema)
    def view(data, complaint_id):
        return handler(complaint_id, current_user(), **data)

    view.__name__ = view.__qualname__ = f"complaint_{rule.replace('/', '_').replace('-', '_')}"
    view.__doc__ = doc
    blp.route(f"/complaints/<int:complaint_id>/{rule}", methods=["POST"])(view)


_action("assign", "assign_complaint", AssignSchema, service.assign, "Reassign (转派): `agent`, `reason`.")
_action("investigate", "handle_complaint", InvestigateSchema, service.investigate,
        "Record the investigation (初步调查), or the appeal's while an appeal is open.")
_action("feedback", "handle_complaint", FeedbackSchema, service.feedback,
        "Feed the result back (`result`, `send_sms`); once only (409 the second time).")
_action("follow-up", "handle_complaint", FollowUpSchema, service.follow_up,
        "Record the follow-up (回访), with `satisfaction` 1–5 or a survey SMS.")
_action("close", "handle_complaint", CloseSchema, service.close,
        "Close (闭环): after the follow-up, or after an appeal's review.")
_action("appeal", "accept_appeal", AppealSchema, service.accept_appeal,
        "Accept an appeal (申诉) against the result: 409 before a result, or a second time.")
_action("appeal/review", "review_appeal", AppealReviewSchema, service.review_appeal,
        "The higher tier's review (复核) of the appeal: `result`.")


@blp.route("/incidents/<int:incident_id>/complaints/feedback", methods=["POST"])
@requires("feed_back_incident_complaints")
@blp.response(200, IncidentFeedbackResultSchema)
def feed_back_incident_complaints(incident_id):
    """After recovery: feed the result back to every complaint the incident drew that still awaits it (once)."""
    return {"fed_back": service.feed_back_incident_complaints(incident_id, current_user())}
