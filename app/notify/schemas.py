from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.notify.kinds import NoticeKind
from app.notify.statuses import OutboxStatus
from app.notify.templates import LANGUAGES
from app.pagination import PageQuerySchema


class QueueNoticeSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([NoticeKind.outage.value, NoticeKind.formal.value]))
    explanation = fields.String(load_default=None, validate=validate.Length(max=2000))


class PoolPlanSchema(Schema):
    """Whether the sender pool sends a notice within its deadline (app/notify/capacity.py)."""
    segments = fields.Integer(metadata={"description": "this notice's SMS segments still to send"})
    backlog_segments = fields.Integer(metadata={"description": "segments due before it, sent first"})
    identities = fields.List(fields.String(), metadata={"description": "the sending numbers/accounts now"})
    pool_segments_per_second = fields.Float(allow_none=True, metadata={"description": "null: unlimited"})
    finish_seconds = fields.Float(allow_none=True)
    seconds_left = fields.Float(allow_none=True, metadata={"description": "until the deadline"})
    meets_deadline = fields.Boolean(allow_none=True)
    needed_identities = fields.Integer(allow_none=True, metadata={"description": "the fewest that meet it"})
    text = fields.String(metadata={"description": "the projection in Chinese, as the console shows it"})


class QueuedSchema(Schema):
    kind = fields.String()
    sequence = fields.Integer()
    queued = fields.Integer()
    pool_plan = fields.Nested(PoolPlanSchema, allow_none=True)


class CapacityQuerySchema(Schema):
    messages = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000_000))
    segments = fields.Integer(load_default=1, validate=validate.Range(min=1, max=20),
                              metadata={"description": "segments per message (the preview's count)"})
    deadline_minutes = fields.Integer(load_default=None, validate=validate.Range(min=1, max=7 * 24 * 60),
                                      metadata={"description": "from now; omitted: no deadline"})


class PreviewRequestSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(NoticeKind.values()))
    language = fields.String(load_default="zh-CN", validate=validate.OneOf(LANGUAGES))
    incident_id = fields.Integer(load_default=None)
    context = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    text = fields.String(load_default=None, validate=validate.Length(min=1, max=2000))


class PreviewSchema(Schema):
    kind = fields.String()
    language = fields.String()
    text = fields.String()
    encoding = fields.String()
    characters = fields.Integer()
    segments = fields.Integer()
    per_segment = fields.Integer()


class NotificationQuerySchema(PageQuerySchema):
    kind = fields.String(load_default=None, validate=validate.OneOf(NoticeKind.values()))
    status = fields.String(load_default=None, validate=validate.OneOf(OutboxStatus.values()))


class NotificationItemSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    sequence = fields.Integer()
    subscriber_id = fields.Integer()
    phone = fields.String()
    status = fields.String()
    error_code = fields.String(allow_none=True)
    attempts = fields.Integer()
    provider_sid = fields.String(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    segments = fields.Integer(allow_none=True, metadata={
        "description": "SMS segments of the text this subscriber was sent (their own name, services, amount); "
                       "null until the provider accepted it"})


class NoticeProgressSchema(Schema):
    kind = fields.String()
    sequence = fields.Integer()
    label = fields.String()
    total = fields.Integer()
    sent = fields.Integer(metadata={"description": "handed to the provider or finished (total − pending)"})
    pending = fields.Integer()
    rate_per_second = fields.Float()
    deadline_at = fields.DateTime(allow_none=True)
    projected_finish_at = fields.DateTime(allow_none=True)
    stalled = fields.Boolean(metadata={"description": "queued over a minute ago and nothing accepted in the last minute"})
    late = fields.Boolean()
    fulfilled_at = fields.DateTime(allow_none=True)
    policy_version = fields.String()
    pool_plan = fields.Nested(PoolPlanSchema, allow_none=True)


class NotificationsSchema(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()))
    notices = fields.List(fields.Nested(NoticeProgressSchema))
    items = fields.List(fields.Nested(NotificationItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
