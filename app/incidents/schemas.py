from __future__ import annotations

from marshmallow import Schema, fields, pre_dump, validate

from app.incidents.causes import CAUSES
from app.incidents.models import Status
from app.schema_fields import Moment

_name = validate.Length(min=1, max=40)


def _text(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class IncidentCreateSchema(Schema):
    title = _text(200, required=True)
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    services = fields.List(fields.String(validate=_name), required=True, validate=validate.Length(min=1, max=50))
    regions = fields.List(fields.String(validate=_name), required=True, validate=validate.Length(min=1, max=200))
    detected_at = Moment(format="iso", metadata={
        "description": "故障发生时间, ISO 8601 with offset; default now; at most policy incidents.max_backdate_days ago"})
    level = fields.Integer(strict=True, validate=validate.Range(min=1, max=3))
    level_reason = _text(2000, metadata={"description": "required when level differs from the proposed grade"})
    major = fields.Boolean()
    major_reason = _text(2000)
    estimated_recovery_at = Moment(format="iso")
    drill = fields.Boolean(load_default=False, metadata={
        "description": "演练: set here only; kept out of every statistic and the public status page, its messages "
                       "start with 【演练】 and its subscriber notices go only to the policy's drills.notice_phones"})
    plan_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                           load_default=list, validate=validate.Length(max=20),
                           metadata={"description": "emergency plans (应急预案) the incident cites"})


class ReportSchema(Schema):
    fault_type = _text(200, required=True)
    scope_summary = _text(5000, required=True)
    estimated_recovery_at = Moment(format="iso", metadata={"description": "required unless given at declaration"})


class RespondSchema(Schema):
    responder = _text(120, required=True)
    emergency_response = fields.Boolean(load_default=False)


class ProgressUpdateSchema(Schema):
    message = _text(5000, required=True)
    notify_subscribers = fields.Boolean(load_default=False)
    public = fields.Boolean(load_default=False)  # shown on the public status page (GET /status)


class RegradeSchema(Schema):
    level = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=3))
    major = fields.Boolean()
    major_reason = _text(2000)
    reason = _text(2000, required=True)


class ResponsibilityEntrySchema(Schema):
    category = fields.String(required=True, validate=validate.OneOf(sorted(CAUSES)))
    sub_cause = fields.String(required=True, validate=validate.OneOf(sorted({c for subs in CAUSES.values() for c in subs})))
    party = _text(120, required=True)
    share = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=100),
                           metadata={"description": "percent; the entries' shares sum to 100"})


class RecoverSchema(Schema):
    recovered_at = Moment(format="iso", metadata={"description": "default now"})
    summary = _text(5000, required=True)


class CancelSchema(Schema):
    reason = _text(2000, required=True)


class IncidentListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    level = fields.Integer(validate=validate.Range(min=1, max=3))
    major = fields.Boolean()
    breached = fields.Boolean(metadata={"description": "true: at least one deadline breached; false: none"})
    drill = fields.Boolean(metadata={"description": "true: drills (演练) only; false: real incidents only"})


class ResponsibilitySchema(Schema):
    category = fields.String()
    sub_cause = fields.String()
    party = fields.String()
    share = fields.Integer()


class IncidentSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    description = fields.String()
    services = fields.List(fields.String())
    regions = fields.List(fields.String())
    level = fields.Integer()
    proposed_level = fields.Integer()
    level_reason = fields.String(allow_none=True)
    major = fields.Boolean()
    major_reason = fields.String(allow_none=True)
    status = fields.String()
    drill = fields.Boolean(metadata={"description": "演练 (set at declaration only)"})
    detected_at = fields.AwareDateTime(format="iso")
    estimated_recovery_at = fields.AwareDateTime(format="iso", allow_none=True)
    reported_at = fields.AwareDateTime(format="iso", allow_none=True)
    fault_type = fields.String(allow_none=True)
    scope_summary = fields.String(allow_none=True)
    responded_at = fields.AwareDateTime(format="iso", allow_none=True)
    responder = fields.String(allow_none=True)
    emergency_response_at = fields.AwareDateTime(format="iso", allow_none=True)
    recovered_at = fields.AwareDateTime(format="iso", allow_none=True)
    recovery_summary = fields.String(allow_none=True)
    analysis_report_submitted_at = fields.AwareDateTime(format="iso", allow_none=True)
    closed_at = fields.AwareDateTime(format="iso", allow_none=True)
    cancelled_at = fields.AwareDateTime(format="iso", allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    policy_version = fields.String()
    created_at = fields.AwareDateTime(format="iso")
    row_version = fields.Integer(metadata={"description": "changes with every change of the incident; also its ETag, "
                                                          "for If-Match on PUT …/responsibility"})
    responsibility = fields.Method("_responsibility")
    affected_subscribers = fields.Method("_affected")
    user_minutes = fields.Method("_user_minutes")
    regulator_reportable = fields.Method("_reportable")
    deadlines = fields.Method("_deadlines")
    next_deadline = fields.Method("_next_deadline")
    complaint_count = fields.Method("_complaint_count", metadata={"description": "complaints linked to the incident (投诉量)"})
    plans = fields.Method("_plans", metadata={"description": "the emergency plans (应急预案) it cites: id, title, cited_at"})

    def _plans(self, incident):
        from app.plans.service import plans_of

        return [{"id": plan.id, "title": plan.title, "cited_at": cited_at.isoformat()}
                for plan, cited_at in plans_of(incident.id)]

    def _responsibility(self, incident):
        from app.incidents.service import responsibility_as_dicts

        return responsibility_as_dicts(incident)

    @pre_dump
    def _count_affected_once(self, incident, **kwargs):
        """The three live impact figures all start from the affected count, a count over every
        subscriber in scope: count it once per incident, and only when one of them is dumped."""
        if not LIVE_IMPACT_FIELDS & set(self.dump_fields):
            return incident
        from app.incidents.service import affected_count

        return _WithImpact(incident, affected_count(incident))

    def _affected(self, incident):
        return incident.affected

    def _user_minutes(self, incident):
        from app.incidents.service import user_minutes

        return user_minutes(incident.incident, affected=incident.affected)

    def _deadlines(self, incident):
        from app.scheduling.service import deadlines_for_api
        from app.scheduling.schemas import DeadlineSchema

        return DeadlineSchema(many=True).dump(deadlines_for_api(incident))

    def _next_deadline(self, incident):
        from app.scheduling.service import next_due_for_api
        from app.scheduling.schemas import NextDeadlineSchema

        upcoming = next_due_for_api(incident)
        return NextDeadlineSchema().dump(upcoming) if upcoming else None

    def _complaint_count(self, incident):
        from app.complaints.service import complaint_count

        return complaint_count(incident.id)

    def _reportable(self, incident):
        from app.incidents.service import regulator_reportable

        return regulator_reportable(incident.incident, affected=incident.affected)


LIVE_IMPACT_FIELDS = {"affected_subscribers", "user_minutes", "regulator_reportable"}


class _WithImpact:
    """An incident with its affected count, for one dump; every other attribute is the incident's."""

    def __init__(self, incident, affected: int) -> None:
        self.incident, self.affected = incident, affected

    def __getattr__(self, name):
        return getattr(self.incident, name)


class TimelineEventSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    at = fields.AwareDateTime(format="iso")
    actor = fields.String(attribute="actor_name")
    message = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
