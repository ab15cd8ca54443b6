"""GET /api/v1/status-lookups: how many "is my line affected?" lookups were made (staff only).

Per day (asked for, verified, refused by a rate limit) and the incidents that drew the most,
over ``since``..``until`` (local days of the policy's zone; default the last 30 days).
"""
from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validates_schema

from app.api_blueprint import api_blueprint
from app.auth.permissions import requires
from app.clock import utcnow
from app.incidents.models import Incident
from app.extensions import db
from app.policy import current_policy
from app.public import lookup_counts

blp = api_blueprint("status_lookups", __name__, description="号码受影响查询统计 (status lookups)")
MAX_DAYS = 366


class LookupStatsQuerySchema(Schema):
    since = fields.Date(load_default=None)
    until = fields.Date(load_default=None)

    @validates_schema
    def _order(self, data, **_):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("since 不能晚于 until (since is after until)", field_name="since")
        if data.get("since") and data.get("until") and (data["until"] - data["since"]).days > MAX_DAYS:
            raise ValidationError(f"最多 {MAX_DAYS} 天 (at most {MAX_DAYS} days)", field_name="until")


class LookupDaySchema(Schema):
    day = fields.String()
    requested = fields.Integer()
    verified = fields.Integer()
    rate_limited = fields.Integer()


class LookupIncidentSchema(Schema):
    incident_id = fields.Integer()
    incident_number = fields.String()
    requested = fields.Integer()
    verified = fields.Integer()
    affected = fields.Integer()


class LookupStatsSchema(Schema):
    since = fields.Date()
    until = fields.Date()
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    days = fields.List(fields.Nested(LookupDaySchema))
    incidents = fields.List(fields.Nested(LookupIncidentSchema))


@blp.route("/status-lookups")
@requires("view_status_lookups")
@blp.arguments(LookupStatsQuerySchema, location="query")
@blp.response(200, LookupStatsSchema)
def status_lookups(args):
    """Lookups per day and the incidents that drew the most."""
    today = lookup_counts.local_day(utcnow(), current_policy())
    until = args["until"] or today
    since = args["since"] or until - timedelta(days=29)
    days = lookup_counts.days(since, until)
    incidents = lookup_counts.busiest_incidents(since, until)
    numbers = dict(db.session.execute(db.select(Incident.id, Incident.number).where(
        Incident.id.in_([row["incident_id"] for row in incidents]))).all())
    totals = {key: sum(day[key] for day in days) for key in ("requested", "verified", "rate_limited")}
    return {"since": since, "until": until, "totals": totals, "days": days,
            "incidents": [{**row, "incident_number": numbers.get(row["incident_id"])} for row in incidents]}
