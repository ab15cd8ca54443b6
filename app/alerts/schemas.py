"""The Alertmanager / Grafana webhook payload, the proposals as the API shows them, and the decisions."""
from __future__ import annotations

import re
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.alerts.models import ProposalState
from app.incidents.schemas import IncidentCreateSchema
from app.schema_fields import Moment, check_in_range

MAX_ALERTS_PER_PAYLOAD = 5000
# Go prints up to nine fractional digits; Python reads six.
_FRACTION = re.compile(r"(\.\d{6})\d+")
_ZERO_TIME_YEAR = 1  # Alertmanager's "0001-01-01T00:00:00Z": a firing alert has no end yet


class GoTime(fields.String):
    """An RFC 3339 time as Alertmanager and Grafana write it; the zero time is None."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace("Z", "+00:00")))
        except ValueError:
            raise ValidationError("须为 RFC 3339 时间 (not an RFC 3339 time)") from None
        if moment.tzinfo is None:
            raise ValidationError("须带时区 (needs a UTC offset)")
        if moment.year == _ZERO_TIME_YEAR:
            return None
        return check_in_range(moment)


_label_map = fields.Dict(keys=fields.String(validate=validate.Length(max=200)),
                         values=fields.String(validate=validate.Length(max=2000)))


class WebhookAlertSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # generatorURL, silenceURL, values … are the source's business

    status = fields.String(required=True, validate=validate.OneOf(["firing", "resolved"]))
    labels = fields.Dict(keys=fields.String(validate=validate.Length(max=200)),
                         values=fields.String(validate=validate.Length(max=2000)), required=True)
    annotations = fields.Dict(keys=fields.String(validate=validate.Length(max=200)),
                              values=fields.String(validate=validate.Length(max=10000)), load_default=dict)
    startsAt = GoTime(required=True)
    endsAt = GoTime(load_default=None, allow_none=True)
    fingerprint = fields.String(required=True, validate=validate.Length(min=1, max=200))


class WebhookSchema(Schema):
    """Alertmanager webhook version 4; Grafana unified alerting sends the same ``alerts[]``."""

    class Meta:
        unknown = EXCLUDE  # receiver, groupLabels, externalURL, orgId, state, title, message …

    version = fields.String(load_default="4")
    alerts = fields.List(fields.Nested(WebhookAlertSchema), required=True,
                         validate=validate.Length(max=MAX_ALERTS_PER_PAYLOAD))


class IngestResultSchema(Schema):
    received = fields.Integer()
    accepted = fields.Integer()
    ignored = fields.Integer(metadata={"description": "resolved alerts of no known proposal"})
    proposal_ids = fields.List(fields.Integer())


class ProposalSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    title = fields.String()
    group_labels = fields.Dict()
    services = fields.List(fields.String())
    regions = fields.List(fields.String())
    unmapped = fields.Boolean(metadata={"description": "an alert's service or region label is unknown to the policy"})
    alert_count = fields.Integer()
    firing_count = fields.Integer()
    first_started_at = fields.AwareDateTime()
    last_received_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    suggested_recovered_at = fields.Function(
        lambda p: p.resolved_at.isoformat() if p.state == "declared" and p.resolved_at else None,
        metadata={"description": "for a declared incident: when its alerts all resolved (shown, not applied)"})
    incident_id = fields.Integer(allow_none=True)
    dismiss_reason = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)


class ProposalQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf([s.value for s in ProposalState]))


class DeclareOverridesSchema(IncidentCreateSchema):
    """The declaration's fields, each optional: the proposal fills title, services, regions, detected_at."""


declare_overrides_schema = DeclareOverridesSchema(partial=True)


class DismissSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
