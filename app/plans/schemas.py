"""The emergency plans' HTTP shapes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.pagination import PageQuerySchema

_name = validate.Length(min=1, max=40)


class PlanInSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    summary = fields.String(load_default="", validate=validate.Length(max=10000),
                            metadata={"description": "what the plan covers and where its document is kept"})
    services = fields.List(fields.String(validate=_name), load_default=list, validate=validate.Length(max=50),
                           metadata={"description": "service codes the plan covers; empty: every service"})
    regions = fields.List(fields.String(validate=_name), load_default=list, validate=validate.Length(max=200),
                          metadata={"description": "regions the plan covers; empty: every region"})
    owner_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    review_due_on = fields.Date(required=True, metadata={
        "description": "next review (复审) day, YYYY-MM-DD; the owner is reminded plans.review_reminder_days before"})


class PlanListQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "part of the title"})
    review_due_by = fields.Date(metadata={"description": "only plans whose review is due on or before this day"})


class CitingIncidentSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    status = fields.String()
    drill = fields.Boolean()
    cited_at = fields.AwareDateTime(format="iso")


class PlanSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    summary = fields.String()
    services = fields.List(fields.String())
    regions = fields.List(fields.String())
    owner_id = fields.Integer()
    owner_name = fields.String()
    review_due_on = fields.Date()
    created_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso")
    row_version = fields.Integer(metadata={"description": "also the ETag; send it as If-Match on PUT"})


class PlanDetailSchema(PlanSchema):
    incidents = fields.List(fields.Nested(CitingIncidentSchema), metadata={"description": "incidents citing the plan"})


class PlanPageSchema(Schema):
    items = fields.List(fields.Nested(PlanSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CitePlansSchema(Schema):
    plan_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                           required=True, validate=validate.Length(min=1, max=20))


class CitedPlanSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    review_due_on = fields.Date()
    cited_at = fields.AwareDateTime(format="iso")
