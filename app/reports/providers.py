"""What the report reads from the deadline, notifier, compensation and complaints domains.

Each name below is the report's whole dependency on another domain: that domain's
``report_feed`` function, returning plain data in the shape documented here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, TypedDict

from app.compensation import report_feed as compensation_feed
from app.complaints import report_feed as complaint_feed
from app.incidents.models import Incident
from app.notify import report_feed as notice_feed
from app.outbound import report_feed as outbound_feed
from app.public import report_feed as public_feed
from app.scheduling import report_feed as deadline_feed


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


class StatusLookups(TypedDict):
    requested: int                 # codes asked for while the incident was on the status page
    verified: int                  # answers given then
    affected: int                  # answers that found the subscriber affected by this incident
    by_day: list[dict]             # the same per local day: {"day": "2026-11-23", "requested", "verified", "affected"}


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


class DispatchDelivery(TypedDict):
    queued_at: datetime            # when 上报 was started (the button)
    acknowledged_at: datetime | None   # the dispatch centre's 2xx: what meets the report deadline
    attempts: int
    failures: int                  # attempts that got no 2xx (unreachable, timeout, error status)
    first_error: str | None
    first_error_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


class IncidentComplaints(TypedDict):
    total: int                     # complaints linked to the incident (投诉量)
    by_category: dict[str, int]    # service_quality, billing, business, other
    fed_back: int
    awaiting_result: int
    repeats: int
    feedback_met: int              # the feedback limit met on time / breached
    feedback_breached: int
    satisfaction: float | None     # mean of the complainants' 1–5


# Every deadline of the incident (the ``deadlines`` table); empty for an incident declared
# before the table existed.
deadline_rows: Callable[[Incident], list[DeadlineRow]] = deadline_feed.deadline_rows
# Notices to subscribers by kind and delivery status.
notice_counts: Callable[[Incident], list[NoticeCount]] = notice_feed.notice_counts
# Deliveries per kind per minute (one GROUP BY in the notifier), for the delivery curve.
notice_delivery_series: Callable[[Incident], list[DeliveryPoint]] = notice_feed.notice_delivery_series
# Survey results (满意度调查), or None before any survey.
satisfaction: Callable[[Incident], Satisfaction | None] = notice_feed.satisfaction
# "Is my line affected?" lookups the incident drew (app/public).
status_lookups: Callable[[Incident], StatusLookups] = public_feed.status_lookups
# The ledger's totals: final after closure, else the live preview.
compensation_totals: Callable[[Incident], CompensationTotals] = compensation_feed.compensation_totals
# Economic credit booked in the final ledgers of these incidents, integer fen.
compensation_paid_fen: Callable[[list[int]], int] = compensation_feed.compensation_paid_fen
# Rectification items (整改) with owners and state.
rectification_items: Callable[[Incident], list[RectificationItem]] = compensation_feed.rectification_items
# The 上报's delivery to the dispatch centre (RULES §9), or None before any 上报.
dispatch_delivery: Callable[[Incident], DispatchDelivery | None] = outbound_feed.dispatch_delivery
# The complaints the incident drew (RULES §8).
incident_complaints: Callable[[Incident], IncidentComplaints] = complaint_feed.incident_complaints
