from __future__ import annotations

from marshmallow import Schema, fields


class DeadlineSchema(Schema):
    kind = fields.String(metadata={"description": "report, emergency_response, response, recovery, recovery_notice, formal_notice, analysis_report"})
    label = fields.String(metadata={"description": "中文名称"})
    starts_at = fields.AwareDateTime(format="iso", metadata={"description": "detected_at or recovered_at"})
    due_at = fields.AwareDateTime(format="iso")
    state = fields.String(metadata={"description": "pending, met, breached, cancelled"})
    met_at = fields.AwareDateTime(format="iso", allow_none=True, metadata={"description": "also set by a late fulfilment"})
    breached_at = fields.AwareDateTime(format="iso", allow_none=True)
    warned_at = fields.AwareDateTime(format="iso", allow_none=True)
    escalated_at = fields.AwareDateTime(format="iso", allow_none=True, metadata={"description": "next tier raised"})
    seconds_left = fields.Integer(allow_none=True, metadata={"description": "pending: time left until due (negative: overdue, not yet judged)"})
    seconds_late = fields.Integer(allow_none=True, metadata={"description": "breached: met_at (or now, while unmet) minus due_at"})
    policy_version = fields.String()


class NextDeadlineSchema(Schema):
    kind = fields.String()
    label = fields.String()
    due_at = fields.AwareDateTime(format="iso")
    seconds_left = fields.Integer()
