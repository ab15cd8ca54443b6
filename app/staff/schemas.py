from __future__ import annotations

from marshmallow import Schema, fields

from app.pagination import PageQuerySchema, page_envelope_schema


class StaffAlertQuerySchema(PageQuerySchema):
    unacknowledged = fields.Boolean(load_default=False, metadata={"description": "only the alerts not yet acknowledged"})


class StaffAlertSchema(Schema):
    id = fields.Integer()
    incident_id = fields.Integer(allow_none=True)
    incident_number = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "deadline_warning, deadline_breach, escalation_tier2, …"})
    message = fields.String()
    created_at = fields.AwareDateTime(format="iso")
    status = fields.String(metadata={"description": "SMS delivery: queued, sending, sent, delivered, failed"})
    acknowledged_at = fields.AwareDateTime(format="iso", allow_none=True)
    acknowledged_by = fields.Integer(allow_none=True)


StaffAlertPageSchema = page_envelope_schema(StaffAlertSchema, "StaffAlertPage")
