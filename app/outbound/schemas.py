from __future__ import annotations

from marshmallow import Schema, fields


class DeliverySchema(Schema):
    target = fields.String(metadata={"description": "dispatch | regulator"})
    target_label = fields.String()
    revision = fields.Integer()
    idempotency_key = fields.String()
    state = fields.String(metadata={"description": "queued | sending | acknowledged"})
    state_label = fields.String()
    attempts = fields.Integer()
    failures = fields.Integer()
    queued_at = fields.AwareDateTime(format="iso")
    next_attempt_at = fields.AwareDateTime(format="iso", allow_none=True)
    acknowledged_at = fields.AwareDateTime(format="iso", allow_none=True)
    receipt = fields.String(allow_none=True)
    first_error = fields.String(allow_none=True)
    first_error_at = fields.AwareDateTime(format="iso", allow_none=True)
    last_error = fields.String(allow_none=True)
    last_error_at = fields.AwareDateTime(format="iso", allow_none=True)
