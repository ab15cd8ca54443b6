from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.catalog.models import RegionLevel

# A code is what the API, the policy and the CSV import name a thing by: no separators, no blanks.
_CODE = validate.Regexp(r"^[^\s,，、;；]+$", error="代码不能含空白或分隔符 (a code has no spaces or separators)")


def _text(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class ServiceSchema(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=40), _CODE])
    name_zh = _text(60, required=True)
    name_en = _text(80, required=True)
    active = fields.Boolean(load_default=True)


class RegionSchema(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=60), _CODE])
    name_zh = _text(60, required=True)
    name_en = _text(80, required=True)
    level = fields.String(required=True, validate=validate.OneOf([level.value for level in RegionLevel]))
    parent_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=60))


class RegionNodeSchema(RegionSchema):
    level_label = fields.Function(lambda r: RegionLevel.label_of(r["level"] if isinstance(r, dict) else r.level))
    children = fields.List(fields.Nested(lambda: RegionNodeSchema()))


class ServicesPutSchema(Schema):
    services = fields.List(fields.Nested(ServiceSchema), required=True, validate=validate.Length(max=1000))


class RegionsPutSchema(Schema):
    regions = fields.List(fields.Nested(RegionSchema), required=True, validate=validate.Length(max=20000))


class RegionsQuerySchema(Schema):
    format = fields.String(load_default="flat", validate=validate.OneOf(["flat", "tree"]),
                           metadata={"description": "flat: every region with its parent_code; tree: nested children"})


class PutResultSchema(Schema):
    services = fields.Integer()
    regions = fields.Integer()


class UnmappedCodeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    code = fields.String()
    source = fields.String()
    occurrences = fields.Integer()
    listed_at = fields.AwareDateTime(format="iso")
