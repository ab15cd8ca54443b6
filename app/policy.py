"""The versioned operator policy: load a TOML file, validate it, expose it.

A bad policy stops start-up with a message naming the offending key, so a typo in a
window can never silently become a wrong deadline.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from app.notify.kinds import NoticeKind

GRADES = (1, 2, 3)


class PolicyError(RuntimeError):
    """The policy file cannot be used; the message names the key."""


def _positive_int(**kwargs):
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=1), **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class GradeSchema(_Strict):
    respond_minutes = _positive_int()
    recover_minutes = _positive_int()


class WindowsSchema(_Strict):
    report_minutes = _positive_int()
    emergency_response_minutes = _positive_int()
    recovery_notice_minutes = _positive_int()
    formal_notice_minutes = _positive_int()
    analysis_report_minutes = _positive_int()


class EscalationSchema(_Strict):
    warning_fraction = fields.Float(required=True, validate=validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False))
    next_tier_after_minutes = _positive_int()
    # RULES §9: a staff alert of a breach nobody acknowledged this long goes to the next roster tier.
    unacknowledged_next_tier_minutes = _positive_int()


class GradingSchema(_Strict):
    key_services = fields.List(fields.String(validate=validate.Length(min=1)), required=True)
    all_regions_markers = fields.List(fields.String(validate=validate.Length(min=1)), required=True)
    all_services_markers = fields.List(fields.String(validate=validate.Length(min=1)), required=True)
    level1_subscribers = _positive_int()
    level2_subscribers = _positive_int()


class RegulatorSchema(_Strict):
    users_over = _positive_int()
    users_duration_minutes = _positive_int()
    user_minutes_over = _positive_int()
    user_minutes_min_duration_minutes = _positive_int()


class CompensationSchema(_Strict):
    billing_period_hours = _positive_int()
    minimum_outage_minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    breach_multiplier = _positive_int()
    operator_categories = fields.List(
        fields.String(validate=validate.OneOf(["technical", "management", "external", "human"])), required=True
    )
    data_services = fields.List(fields.String(validate=validate.Length(min=1)), required=True)
    data_credit_gb_per_block = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    data_credit_block_hours = _positive_int()
    data_credit_cap_gb = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    data_credit_requires_minimum_outage = fields.Boolean(load_default=True)
    # An adjusted plan (补偿方案协商) above either cap — and above the computed figures — needs
    # a second, different duty manager's approval.
    max_adjusted_credit_months_of_fee = fields.Integer(load_default=3, strict=True, validate=validate.Range(min=0))
    max_adjusted_data_credit_gb = fields.Integer(load_default=20, strict=True, validate=validate.Range(min=0))


class IncidentsSchema(_Strict):
    # detected_at may be back-dated (RULES §2), but not beyond this: year 0001 was accepted
    # once and credited 49,329.96 CNY on a 1 CNY plan.
    max_backdate_days = _positive_int()



class NoticesSchema(_Strict):
    default_language = fields.String(required=True, validate=validate.OneOf(["zh-CN", "en"]))
    # Kinds still sent to subscribers who opted out (STOP / 退订).
    mandatory_kinds = fields.List(fields.String(validate=validate.OneOf(NoticeKind.values())), required=True)
    # When the initial outage notice (故障通知) is queued: on declaration, on the report
    # to the dispatch center (scope and estimated recovery confirmed), or never automatically.
    initial_notice_on = fields.String(required=True, validate=validate.OneOf(["declared", "reported", "manual"]))
    survey_delay_minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    # Greet each subscriber by name in their notices (尊敬的张三). Off by default: the name is
    # personal data printed on a phone's lock screen, an operator decision.
    personal_name = fields.Boolean(load_default=False)


class PublicStatusSchema(_Strict):
    recently_recovered_hours = _positive_int()
    show_affected_counts = fields.Boolean(required=True)
    max_age_seconds = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=3600))
    version_check_seconds = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=60))


PUBLIC_STATUS_DEFAULTS = {"recently_recovered_hours": 24, "show_affected_counts": False,
                          "max_age_seconds": 15, "version_check_seconds": 1}


class StatusLookupSchema(_Strict):
    code_minutes = _positive_int()                  # a lookup code expires this long after it was asked for
    keep_codes_hours = _positive_int()              # spent and expired code rows (phone numbers) are deleted after this
    max_wrong_attempts = _positive_int()            # wrong codes before a code is spent
    window_minutes = _positive_int()                # the window of the three rate limits below
    phone_max_requests = _positive_int()            # codes asked for one number per window
    address_max_requests = _positive_int()          # codes asked from one client address per window
    address_max_verifications = _positive_int()     # codes tried from one client address per window
    compensation_days = _positive_int()             # compensation of incidents closed this recently is shown
    sender_lane_every = _positive_int()             # while notices wait, the sender serves codes 1 cycle in N
    sender_lane_batch = _positive_int()             # codes per such cycle


STATUS_LOOKUP_DEFAULTS = {"code_minutes": 10, "keep_codes_hours": 24, "max_wrong_attempts": 5,
                          "window_minutes": 60, "phone_max_requests": 3, "address_max_requests": 20,
                          "address_max_verifications": 30, "compensation_days": 90, "sender_lane_every": 10, "sender_lane_batch": 5}


class SecuritySchema(_Strict):
    api_token_days = _positive_int()                 # a bearer token stops working this long after it was issued
    password_min_length = fields.Integer(required=True, strict=True, validate=validate.Range(min=8, max=128))
    password_reject_common = fields.Boolean(required=True)  # refuse the list in app/auth/common_passwords.txt
    login_max_failures = _positive_int()             # per user name, before a lock-out
    login_address_max_failures = _positive_int()     # per client address, before a lock-out
    login_lockout_seconds = _positive_int()          # the first lock-out; doubles with each further failure
    login_lockout_max_seconds = _positive_int()
    login_failure_memory_minutes = _positive_int()   # failures older than this are forgotten


COMPLAINT_CATEGORIES = ("service_quality", "billing", "business", "other")


class ComplaintCategorySchema(_Strict):
    investigate_hours = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=None)
    feedback_hours = _positive_int()


class ComplaintsSchema(_Strict):
    register_hours = _positive_int()
    acknowledge_hours = _positive_int()
    follow_up_hours = _positive_int()
    written_feedback_working_days = _positive_int()
    appeal_investigation_working_days = _positive_int()
    appeal_review_working_days = _positive_int()
    appeal_close_working_days = _positive_int()
    repeat_window_days = _positive_int()
    link_recovered_within_hours = _positive_int()
    on_time_target_percent = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    duty_manager_from_grade = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    categories = fields.Dict(keys=fields.String(validate=validate.OneOf(COMPLAINT_CATEGORIES)),
                             values=fields.Nested(ComplaintCategorySchema), required=True)

    @validates("categories")
    def _every_category(self, value: dict, **_: Any) -> None:
        missing = [c for c in COMPLAINT_CATEGORIES if c not in value]
        if missing:
            raise ValidationError(f"missing categor(ies) {', '.join(missing)}")


def _iso_date(value: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {value!r}") from None


class CalendarYearSchema(_Strict):
    """Corrections or a whole year the calendar library does not know: weekday days off, worked weekend days."""

    # Kept as ISO text ("2027-10-08") so the policy stays plain JSON in its recorded versions.
    holidays = fields.List(fields.String(validate=lambda v: _iso_date(v)), load_default=list)
    workdays = fields.List(fields.String(validate=lambda v: _iso_date(v)), load_default=list)


class AlertsSchema(_Strict):
    """Alarms in (RULES §9): how Alertmanager/Grafana alerts group into incident proposals."""

    group_by = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                           validate=validate.Length(min=1, max=10))
    grouping_window_minutes = _positive_int()
    service_label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    region_label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    # alert label value -> the product's service code / region name
    services = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(min=1)), required=True)
    regions = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(min=1)), required=True)


DEFAULT_ALERTS = {"group_by": ["region", "service"], "grouping_window_minutes": 30, "service_label": "service",
                  "region_label": "region", "services": {}, "regions": {}}


class PlansSchema(_Strict):
    """Emergency plans (应急预案): the owner is reminded this many days before a review is due."""

    review_reminder_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=365))


class DrillsSchema(_Strict):
    """Drills (演练): subscriber notices of a drill go only to the subscribers with these phones
    (E.164, a test list); empty: a drill notifies no subscriber at all."""

    notice_phones = fields.List(fields.String(validate=validate.Regexp(r"^\+[1-9]\d{6,14}$")), load_default=list)


DEFAULT_PLANS = {"review_reminder_days": 30}
DEFAULT_DRILLS = {"notice_phones": []}


class PolicySchema(_Strict):
    version = fields.String(required=True, validate=validate.Length(min=1, max=40))
    # The unit of every §2 window and of the escalation interval. "seconds" exists for drills
    # and real-time tests of the scheduler; production policies keep "minutes".
    window_unit = fields.String(load_default="minutes", validate=validate.OneOf(["minutes", "seconds"]))
    timezone = fields.String(required=True)
    hotline = fields.String(required=True, validate=validate.Length(min=1, max=20))
    grades = fields.Dict(keys=fields.String(validate=validate.OneOf(["1", "2", "3"])), values=fields.Nested(GradeSchema), required=True)
    windows = fields.Nested(WindowsSchema, required=True)
    escalation = fields.Nested(EscalationSchema, required=True)
    grading = fields.Nested(GradingSchema, required=True)
    regulator = fields.Nested(RegulatorSchema, required=True)
    compensation = fields.Nested(CompensationSchema, required=True)
    incidents = fields.Nested(IncidentsSchema, load_default=lambda: {"max_backdate_days": 30})
    notices = fields.Nested(NoticesSchema, required=True)
    security = fields.Nested(SecuritySchema, required=True)
    public_status = fields.Nested(PublicStatusSchema, load_default=lambda: dict(PUBLIC_STATUS_DEFAULTS))
    status_lookup = fields.Nested(StatusLookupSchema, load_default=lambda: dict(STATUS_LOOKUP_DEFAULTS))
    complaints = fields.Nested(ComplaintsSchema, required=True)
    alerts = fields.Nested(AlertsSchema, load_default=lambda: dict(DEFAULT_ALERTS))
    plans = fields.Nested(PlansSchema, load_default=lambda: dict(DEFAULT_PLANS))
    drills = fields.Nested(DrillsSchema, load_default=lambda: dict(DEFAULT_DRILLS))
    working_days = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^\d{4}$")),
                               values=fields.Nested(CalendarYearSchema), load_default=dict)

    @validates("timezone")
    def _known_zone(self, value: str, **_: Any) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"unknown time zone {value!r}") from exc

    @validates("grades")
    def _every_grade(self, value: dict, **_: Any) -> None:
        missing = [str(g) for g in GRADES if str(g) not in value]
        if missing:
            raise ValidationError(f"missing grade(s) {', '.join(missing)}")


def _flatten_errors(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        out: list[str] = []
        for key, value in errors.items():
            out.extend(_flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return [f"{prefix}: {'; '.join(errors)}"]
    return [f"{prefix}: {errors}"]


@dataclass(frozen=True)
class Policy:
    """The validated policy. ``version`` is the file's own label plus a content digest."""

    version: str
    data: dict

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.data["timezone"])

    def grade(self, level: int) -> dict:
        return self.data["grades"][str(level)]

    def _window(self, amount: int) -> timedelta:
        return timedelta(**{self.data.get("window_unit", "minutes"): amount})

    def minutes(self, key: str) -> timedelta:
        return self._window(self.data["windows"][key])

    def respond_window(self, level: int) -> timedelta:
        return self._window(self.grade(level)["respond_minutes"])

    def recover_window(self, level: int) -> timedelta:
        return self._window(self.grade(level)["recover_minutes"])

    @property
    def next_tier_after(self) -> timedelta:
        """How long a breached deadline may stay unmet before the next escalation tier."""
        return self._window(self.escalation["next_tier_after_minutes"])

    @property
    def unacknowledged_next_tier(self) -> timedelta:
        """How long a breach's alert may stay unacknowledged before the next roster tier is alerted."""
        return self._window(self.escalation["unacknowledged_next_tier_minutes"])

    @property
    def grading(self) -> dict:
        return self.data["grading"]

    @property
    def max_backdate(self) -> timedelta:
        """How far before now an incident's detected_at may lie."""
        return timedelta(days=self.data["incidents"]["max_backdate_days"])

    @property
    def compensation(self) -> dict:
        return self.data["compensation"]

    @property
    def escalation(self) -> dict:
        return self.data["escalation"]

    @property
    def regulator(self) -> dict:
        return self.data["regulator"]

    @property
    def security(self) -> dict:
        return self.data["security"]

    @property
    def public_status(self) -> dict:
        return self.data["public_status"]

    @property
    def status_lookup(self) -> dict:
        return self.data["status_lookup"]

    @property
    def complaints(self) -> dict:
        return self.data["complaints"]

    @property
    def alerts(self) -> dict:
        return self.data["alerts"]

    @property
    def plans(self) -> dict:
        return self.data["plans"]

    @property
    def drills(self) -> dict:
        return self.data["drills"]

    def complaint_hours(self, hours: int) -> timedelta:
        """A complaint limit given in hours, in the policy's window unit (seconds in drills)."""
        return self._window(hours * 60)

    def as_public_dict(self) -> dict:
        return {**self.data, "version": self.version, "label": self.data["version"]}


def parse_policy(raw: dict, source: str = "policy") -> Policy:
    try:
        data = PolicySchema().load(raw)
    except ValidationError as exc:
        details = "; ".join(_flatten_errors(exc.messages))
        raise PolicyError(f"invalid {source}: {details}") from None
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
    return Policy(version=f"{data['version']}+{digest}", data=data)


def load_policy(path: Path | str) -> Policy:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from None
    return parse_policy(raw, source=f"policy file {path}")


def current_policy() -> Policy:
    """The policy of the running application."""
    from flask import current_app

    return current_app.extensions["noc_policy"]
