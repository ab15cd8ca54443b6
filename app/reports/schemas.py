from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

_free_text = dict(validate=validate.Length(max=20000))


class ReportQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "html", "md", "pdf"]),
                           metadata={"description": "json (default), html, md or pdf"})
    version = fields.Integer(validate=validate.Range(min=0),
                             metadata={"description": "free-text version to show; default the latest"})


class ReportEditSchema(Schema):
    preventive_measures = fields.String(**_free_text, metadata={"description": "后续预防措施"})
    lessons = fields.String(**_free_text, metadata={"description": "经验教训"})
    rectification_notes = fields.String(**_free_text, metadata={"description": "整改说明"})
    base_version = fields.Integer(validate=validate.Range(min=0),
                                  metadata={"description": "the version this edit starts from; 409 when stale"})


class ReportVersionSchema(Schema):
    version = fields.Integer()
    preventive_measures = fields.String()
    lessons = fields.String()
    rectification_notes = fields.String()
    edited_by = fields.String(attribute="edited_by_name")
    edited_at = fields.AwareDateTime(format="iso")
    policy_version = fields.String()


class ReportStateSchema(Schema):
    incident_id = fields.Integer()
    state = fields.String()
    latest_version = fields.Integer()
    submitted_version = fields.Integer(allow_none=True)
    submitted_at = fields.AwareDateTime(format="iso", allow_none=True)
    approved_at = fields.AwareDateTime(format="iso", allow_none=True)


class SummaryQuerySchema(Schema):
    start = fields.AwareDateTime(data_key="from", format="iso",
                                 metadata={"description": "detected on or after; default 30 days before `to`"})
    end = fields.AwareDateTime(data_key="to", format="iso", metadata={"description": "detected before; default now"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "html"]))

    @validates_schema
    def _ordered(self, data, **_):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("必须早于 to (must be before `to`)", "from")
