from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.complaints.models import Category, Channel, Status
from app.incidents.schemas import TimelineEventSchema  # noqa: F401 - the same shape for a complaint's history
from app.phones import mask
from app.schema_fields import Moment


def _text(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class ComplaintCreateSchema(Schema):
    phone = _text(40, required=True, metadata={"description": "the complainant's phone, any common format; stored E.164"})
    name = _text(120, required=True)
    channel = fields.String(required=True, validate=validate.OneOf([c.value for c in Channel]))
    received_at = Moment(format="iso", metadata={"description": "受理时间, ISO 8601 with offset; default now; not in the future"})
    category = fields.String(required=True, validate=validate.OneOf([c.value for c in Category]))
    grade = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=4))
    content = _text(10000, required=True)
    urgent = fields.Boolean(load_default=False)
    region = fields.String(validate=validate.Length(min=1, max=60), allow_none=True,
                           metadata={"description": "catalog region code where the complainant is (GET /catalog/regions)"})
    service = fields.String(validate=validate.Length(min=1, max=40), allow_none=True,
                            metadata={"description": "catalog service code the complaint is about (GET /catalog/services)"})


class AssignSchema(Schema):
    agent = _text(80, required=True, metadata={"description": "the new owner's user name (an agent or a duty manager)"})
    reason = _text(2000, required=True)


class InvestigateSchema(Schema):
    findings = _text(10000, required=True, metadata={"description": "what the investigation found"})


class FeedbackSchema(Schema):
    result = _text(2000, required=True, metadata={"description": "the result, kept as the written record (书面反馈)"})
    send_sms = fields.Boolean(load_default=True)


class FollowUpSchema(Schema):
    satisfaction = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=5),
                                  metadata={"description": "1–5; omitted: a survey SMS asks for it"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CloseSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class AppealSchema(Schema):
    reason = _text(2000, required=True)


class AppealReviewSchema(Schema):
    result = _text(2000, required=True)


class ComplaintListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    category = fields.String(validate=validate.OneOf([c.value for c in Category]))
    grade = fields.Integer(validate=validate.Range(min=1, max=4))
    incident_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    overdue = fields.Boolean(metadata={"description": "true: a limit is overdue (breached and unmet, or past due)"})
    agent = fields.String(validate=validate.Length(min=1, max=80), metadata={"description": "the owner's user name"})


class ComplaintSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    phone = fields.String()
    phone_masked = fields.Function(lambda c: mask(c.phone))
    subscriber_id = fields.Integer(allow_none=True)
    name = fields.String()
    channel = fields.String()
    received_at = fields.AwareDateTime(format="iso")
    category = fields.String()
    grade = fields.Integer()
    content = fields.String()
    region = fields.String(allow_none=True)
    service = fields.String(allow_none=True)
    urgent = fields.Boolean()
    repeat = fields.Boolean()
    status = fields.String()
    incident_id = fields.Integer(allow_none=True)
    owner_id = fields.Integer()
    investigation = fields.String(allow_none=True)
    investigated_at = fields.AwareDateTime(format="iso", allow_none=True)
    result = fields.String(allow_none=True)
    fed_back_at = fields.AwareDateTime(format="iso", allow_none=True)
    followed_up_at = fields.AwareDateTime(format="iso", allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    closed_at = fields.AwareDateTime(format="iso", allow_none=True)
    appeal_reason = fields.String(allow_none=True)
    appealed_at = fields.AwareDateTime(format="iso", allow_none=True)
    appeal_investigation = fields.String(allow_none=True)
    appeal_investigated_at = fields.AwareDateTime(format="iso", allow_none=True)
    appeal_result = fields.String(allow_none=True)
    appeal_reviewed_at = fields.AwareDateTime(format="iso", allow_none=True)
    policy_version = fields.String()
    created_at = fields.AwareDateTime(format="iso")


class ComplaintDetailSchema(ComplaintSchema):
    deadlines = fields.Method("_deadlines")

    def _deadlines(self, complaint):
        from app.scheduling.complaints import deadlines_for_api
        from app.scheduling.schemas import DeadlineSchema

        return DeadlineSchema(many=True).dump(deadlines_for_api(complaint.id))


class IncidentFeedbackResultSchema(Schema):
    fed_back = fields.Integer(metadata={"description": "complaints fed back now (0 when none was waiting)"})


class SummaryQuerySchema(Schema):
    from_ = fields.AwareDateTime(format="iso", data_key="from", metadata={"description": "received_at from (inclusive)"})
    to = fields.AwareDateTime(format="iso", metadata={"description": "received_at before (exclusive)"})


class OnTimeSchema(Schema):
    met = fields.Integer()
    breached = fields.Integer()
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "percent of decided limits met on time"})
    meets_target = fields.Boolean(allow_none=True)


class LimitRateSchema(OnTimeSchema):
    kind = fields.String()
    pending = fields.Integer()


class GroupRateSchema(OnTimeSchema):
    key = fields.String(metadata={"description": "the agent's name, category, grade or month (YYYY-MM, policy zone)"})
    complaints = fields.Integer()
    repeat_rate = fields.Float(allow_none=True)
    satisfaction = fields.Float(allow_none=True)


class SummarySchema(Schema):
    from_ = fields.AwareDateTime(format="iso", data_key="from", attribute="from")
    to = fields.AwareDateTime(format="iso")
    policy_version = fields.String()
    on_time_target_percent = fields.Integer()
    complaints = fields.Integer()
    repeat_rate = fields.Float(allow_none=True)
    satisfaction = fields.Dict()
    linked_to_incidents = fields.Integer()
    incidents = fields.Integer()
    complaints_per_incident = fields.Float(allow_none=True)
    limits = fields.List(fields.Nested(LimitRateSchema))
    by_category = fields.List(fields.Nested(GroupRateSchema))
    by_grade = fields.List(fields.Nested(GroupRateSchema))
    by_agent = fields.List(fields.Nested(GroupRateSchema))
    by_month = fields.List(fields.Nested(GroupRateSchema))
