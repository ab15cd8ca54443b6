"""What the report needs from the deadline, notifier and compensation domains.

Each function below is the report's whole dependency on another domain: a documented
contract returning plain data, or ``None`` when that domain is not installed (its module
is not importable), so the report says "暂无数据" with the reason instead of failing.
Wiring a domain means pointing ``_SOURCES[name]`` at that domain's function (module path,
attribute name) with the same signature and return shape; nothing else in the report
changes. Tests replace these functions to feed the sections.
"""
from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any, Callable, TypedDict

from app.incidents.models import Incident


class DeadlineRow(TypedDict):
    kind: str                      # report, emergency_response, response, recovery, recovery_notice, formal_notice, analysis_report
    due_at: datetime               # aware UTC
    state: str                     # pending, met, breached, cancelled
    met_at: datetime | None
    breached_at: datetime | None


class NoticeCount(TypedDict):
    kind: str                      # outage, progress, recovery, formal, compensation, survey
    sent: int                      # handed to the SMS provider
    delivered: int
    failed: int
    opted_out: int                 # suppressed because the subscriber opted out (STOP / 退订)


class DeliveryPoint(TypedDict):
    kind: str
    minute: datetime               # start of a one-minute bucket, aware UTC
    delivered: int                 # notices delivered in that minute (not cumulative)


class CompensationTotals(TypedDict):
    policy_version: str
    final: bool                    # False: a preview before closure
    subscribers_credited: int
    economic_credit_fen: int       # 经济补偿 total, integer fen
    data_credit_gb: int            # 服务补偿 total, GB of data
    disputes: int


class RectificationItem(TypedDict):
    title: str
    owner: str
    state: str                     # open, overdue (past its due date), done
    due_at: datetime | None
    done_at: datetime | None


class Satisfaction(TypedDict):
    surveyed: int
    replies: int
    average: float | None          # mean of the 1–5 replies
    distribution: dict[int, int]   # score → replies


class IncidentComplaints(TypedDict):
    total: int                     # complaints linked to the incident (投诉量)
    by_category: dict[str, int]    # service_quality, billing, business, other
    fed_back: int
    awaiting_result: int
    repeats: int
    feedback_met: int              # the feedback limit met on time / breached
    feedback_breached: int
    satisfaction: float | None     # mean of the complainants' 1–5


# name → (module, attribute) of the other domain's function. The lead fills these at merge.
_SOURCES: dict[str, tuple[str, str]] = {
    "deadline_rows": ("app.scheduling.reporting", "deadline_rows"),
    "notice_counts": ("app.notify.reporting", "notice_counts"),
    "notice_delivery_series": ("app.notify.reporting", "notice_delivery_series"),
    "satisfaction": ("app.notify.reporting", "satisfaction"),
    "compensation_totals": ("app.compensation.reporting", "compensation_totals"),
    "compensation_paid_fen": ("app.compensation.reporting", "compensation_paid_fen"),
    "rectification_items": ("app.compensation.reporting", "rectification_items"),
    "incident_complaints": ("app.complaints.reporting", "incident_complaints"),
}


def _source(name: str) -> Callable[..., Any] | None:
    module_name, attribute = _SOURCES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attribute, None)


def _call(name: str, *args: Any) -> Any:
    function = _source(name)
    return None if function is None else function(*args)


def deadline_rows(incident: Incident) -> list[DeadlineRow] | None:
    """Every deadline of the incident (the ``deadlines`` table), or None without the scheduler."""
    return _call("deadline_rows", incident)


def notice_counts(incident: Incident) -> list[NoticeCount] | None:
    """Notices to subscribers by kind and delivery status, or None without the notifier."""
    return _call("notice_counts", incident)


def notice_delivery_series(incident: Incident) -> list[DeliveryPoint] | None:
    """Deliveries per kind per minute (one GROUP BY in the notifier), for the delivery curve."""
    return _call("notice_delivery_series", incident)


def satisfaction(incident: Incident) -> Satisfaction | None:
    """Survey results (满意度调查), or None without the notifier or before any survey."""
    return _call("satisfaction", incident)


def compensation_totals(incident: Incident) -> CompensationTotals | None:
    """The ledger's totals (final after closure, else the preview), or None without compensation."""
    return _call("compensation_totals", incident)


def compensation_paid_fen(incident_ids: list[int]) -> int | None:
    """Economic credit booked in the final ledgers of these incidents, integer fen."""
    return _call("compensation_paid_fen", incident_ids)


def rectification_items(incident: Incident) -> list[RectificationItem] | None:
    """Rectification items (整改) with owners and state, or None where nobody tracks them yet."""
    return _call("rectification_items", incident)


def incident_complaints(incident: Incident) -> IncidentComplaints | None:
    """The complaints the incident drew (RULES §8), or None without the complaints domain."""
    return _call("incident_complaints", incident)
