from __future__ import annotations

import re
from datetime import date, datetime, time

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.policy import current_policy
from app.schema_fields import check_in_range

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


class PeriodBound(fields.Field):
    """A date (midnight in the policy's zone: '2026-11-01') or an ISO datetime with offset.

    An unencoded '+08:00' in a query string arrives as ' 08:00'; read it as the offset it was.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return check_in_range(datetime.combine(date.fromisoformat(text), time(), tzinfo=current_policy().zone))
            except ValueError:
                raise ValidationError("不是有效日期 (not a valid date)") from None
        text = re.sub(r"(T[\d:.]+) (\d{2}:?\d{2})$", r"\1+\2", str(value))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError("不是有效时间，应为 ISO 8601 日期或带时区的时间 (not a valid date or datetime)") from None
        if moment.tzinfo is None:
            raise ValidationError("须带时区偏移 (must carry a UTC offset)")
        return check_in_range(moment)


class SummaryQuerySchema(Schema):
    start = PeriodBound(data_key="from", metadata={
        "description": "detected on or after: a date (local midnight) or ISO datetime; default 30 days before `to`"})
    end = PeriodBound(data_key="to", metadata={"description": "detected before; default now"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "html"]))

    @validates_schema
    def _ordered(self, data, **_):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("必须早于 to (must be before `to`)", "from")
