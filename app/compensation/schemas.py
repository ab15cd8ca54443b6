from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.compensation.money import fen_to_yuan
from app.pagination import PageQuerySchema


def _text(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class CompensationRowSchema(Schema):
    entry_id = fields.Integer(allow_none=True, metadata={"description": "null in a preview"})
    subscriber_id = fields.Integer()
    phone = fields.String()
    outage_minutes = fields.Integer()
    monthly_fee = fields.Function(lambda row: fen_to_yuan(row.monthly_fee_fen))
    operator_share = fields.Integer(metadata={"description": "percent"})
    multiplier = fields.Integer()
    data_service = fields.Boolean()
    economic_credit = fields.Function(lambda row: fen_to_yuan(row.economic_credit_fen),
                                      metadata={"description": "CNY decimal string, e.g. \"0.70\""})
    data_credit_gb = fields.Integer()
    version = fields.Integer(allow_none=True, metadata={"description": "current ledger version (1 = computed); null in a preview"})
    policy_version = fields.String()


class CompensationTotalsSchema(Schema):
    subscribers = fields.Integer()
    credited_subscribers = fields.Integer()
    economic_credit = fields.String()
    data_credit_gb = fields.Integer()


class CompensationSchema(Schema):
    incident_id = fields.Integer()
    incident_number = fields.String()
    final = fields.Boolean(metadata={"description": "false: a preview computed now; true: the ledger written at closure"})
    policy_version = fields.String()
    outage_minutes = fields.Integer()
    operator_share = fields.Integer()
    multiplier = fields.Integer()
    recovery_window_breached = fields.Boolean()
    totals = fields.Nested(CompensationTotalsSchema)
    items = fields.List(fields.Nested(CompensationRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class DisputeSchema(Schema):
    reason = _text(2000, required=True)
    economic_credit = fields.String(required=True, metadata={"description": "proposed CNY amount, e.g. \"5.00\""})
    data_credit_gb = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10000))


class DecisionSchema(Schema):
    note = fields.String(validate=validate.Length(max=2000))


class VersionSchema(Schema):
    version = fields.Integer()
    status = fields.String(metadata={"description": "computed, proposed, approved or rejected"})
    economic_credit = fields.String()
    data_credit_gb = fields.Integer()
    at = fields.AwareDateTime(format="iso")
    reason = fields.String(allow_none=True)
    proposed_by = fields.String(allow_none=True, metadata={"description": "who recorded the dispute (never its approver)"})
    second_approval_required = fields.Boolean(metadata={
        "description": "above the policy's cap: two different duty managers must approve"})
    first_approved_by = fields.String(allow_none=True)
    first_approved_at = fields.AwareDateTime(format="iso", allow_none=True,
                                             metadata={"description": "set while a capped plan awaits its second approval"})
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(format="iso", allow_none=True)
    decision_note = fields.String(allow_none=True)


class EntrySchema(Schema):
    entry_id = fields.Integer()
    incident_id = fields.Integer()
    subscriber_id = fields.Integer()
    phone = fields.String()
    monthly_fee = fields.String()
    outage_minutes = fields.Integer()
    operator_share = fields.Integer()
    multiplier = fields.Integer()
    data_service = fields.Boolean()
    policy_version = fields.String()
    current_version = fields.Integer()
    economic_credit = fields.String()
    data_credit_gb = fields.Integer()
    versions = fields.List(fields.Nested(VersionSchema))


class ResponsibilityNoticeSchema(Schema):
    message = fields.String(load_default="", validate=validate.Length(max=2000))


class RectificationCreateSchema(Schema):
    title = _text(200, required=True)
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    owner = _text(120, required=True)
    due_date = fields.Date(required=True)


class RectificationPatchSchema(Schema):
    title = _text(200)
    description = fields.String(validate=validate.Length(max=10000))
    owner = _text(120)
    due_date = fields.Date()
    completed = fields.Boolean()
    completion_note = fields.String(validate=validate.Length(max=5000))


class RectificationSchema(Schema):
    id = fields.Integer()
    incident_id = fields.Integer()
    title = fields.String()
    description = fields.String()
    owner = fields.String()
    due_date = fields.Date()
    completed = fields.Function(lambda item: item.completed_at is not None)
    completed_at = fields.AwareDateTime(format="iso", allow_none=True)
    completion_note = fields.String(allow_none=True)
    overdue = fields.Method("_overdue")
    created_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso")

    def _overdue(self, item):
        from app.clock import utcnow
        from app.compensation.accountability import is_overdue
        from app.policy import current_policy

        return is_overdue(item, utcnow().astimezone(current_policy().zone).date())


class TimelineEventOutSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    at = fields.AwareDateTime(format="iso")
    actor = fields.String(attribute="actor_name")
    message = fields.String()
    after = fields.Dict(allow_none=True)


CompensationPageQuery = PageQuerySchema
