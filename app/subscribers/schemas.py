from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

LANGUAGES = ("zh-CN", "en")


def _not_negative(value) -> None:
    # A plain function, not validate.Range: the OpenAPI document would print a string minimum.
    if value < 0:
        raise ValidationError("月费不能为负 (must not be negative)")


class SubscriberCreateSchema(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=3, max=40))
    name = fields.String(load_default="", validate=validate.Length(max=120))
    region = fields.String(required=True, validate=validate.Length(min=1, max=60))
    services = fields.List(fields.String(validate=validate.Length(min=1, max=40)), required=True,
                           validate=validate.Length(min=1, max=20))
    monthly_fee = fields.Decimal(required=True, places=None, as_string=True, validate=_not_negative,
                                metadata={"description": "CNY as a decimal string, e.g. \"58.00\""})
    language = fields.String(load_default="zh-CN", validate=validate.OneOf(LANGUAGES))


class SubscriberSchema(Schema):
    id = fields.Integer()
    phone = fields.String()
    name = fields.String()
    region = fields.String()
    services = fields.List(fields.String())
    monthly_fee = fields.Method("_fee")
    language = fields.String()
    opted_out = fields.Method("_opted_out")
    opted_out_at = fields.DateTime(allow_none=True)
    opted_out_source = fields.String(allow_none=True)

    def _fee(self, subscriber) -> str:
        fen = subscriber.monthly_fee_fen
        return f"{fen // 100}.{fen % 100:02d}"

    def _opted_out(self, subscriber) -> bool:
        return subscriber.opted_out_at is not None


class RejectedRowSchema(Schema):
    line = fields.Integer()
    reason = fields.String()


class ImportResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    rejected = fields.Integer()
    rejected_rows = fields.List(fields.Nested(RejectedRowSchema))


class ImportFormSchema(Schema):
    pass


class AffectedSchema(Schema):
    count = fields.Integer()
    items = fields.List(fields.Nested(SubscriberSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
