"""The roster's HTTP shapes. Times are read and shown in the policy's zone (Asia/Shanghai):
a time without an offset is taken as that zone's wall clock."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.oncall.models import Tier
from app.policy import current_policy
from app.schema_fields import check_in_range

TIER_DESCRIPTION = "1 值班经理, 2 部门负责人, 3 应急指挥中心"


class ZoneMoment(fields.NaiveDateTime):
    """ISO 8601; without an offset it is the policy zone's wall clock; dumped in that zone."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = fields.DateTime._deserialize(self, value, attr, data, **kwargs)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=current_policy().zone)
        return check_in_range(moment)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(current_policy().zone).isoformat()


class WindowQuerySchema(Schema):
    window_from = ZoneMoment(data_key="from", metadata={"description": "default: today 00:00 in the policy's zone"})
    window_to = ZoneMoment(data_key="to", metadata={"description": "default: from + 7 days"})


class ShiftInSchema(Schema):
    user_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    tier = fields.Integer(required=True, strict=True, validate=validate.OneOf([t.value for t in Tier]),
                          metadata={"description": TIER_DESCRIPTION})
    starts_at = ZoneMoment(required=True)
    ends_at = ZoneMoment(required=True)


class RosterInSchema(Schema):
    window_from = ZoneMoment(data_key="from", required=True)
    window_to = ZoneMoment(data_key="to", required=True)
    shifts = fields.List(fields.Nested(ShiftInSchema), required=True, validate=validate.Length(max=2000))


class PersonSchema(Schema):
    user_id = fields.Integer()
    name = fields.String()


class TierOnDutySchema(Schema):
    tier = fields.Integer(metadata={"description": TIER_DESCRIPTION})
    label = fields.String()
    people = fields.List(fields.Nested(PersonSchema))


class ShiftSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    tier = fields.Integer()
    label = fields.String()
    starts_at = ZoneMoment()
    ends_at = ZoneMoment()


class RosterSchema(Schema):
    at = ZoneMoment(metadata={"description": "the moment 'now' was judged at"})
    now = fields.List(fields.Nested(TierOnDutySchema), metadata={"description": "who is on duty at each tier now"})
    window_from = ZoneMoment(data_key="from")
    window_to = ZoneMoment(data_key="to")
    shifts = fields.List(fields.Nested(ShiftSchema))
