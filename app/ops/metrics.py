"""``GET /metrics``: Prometheus text format (prometheus-client), public as API.md says.

Everything that must be true across processes (queues, send rate, provider errors,
deadlines, worker heartbeats) is read from the database at scrape time by a few GROUP BYs
— several senders or schedulers may run, and the web process knows nothing of them. Only
the request latency is this process's own: each web process is scraped as its own target.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import case, func, select

from app.clock import utcnow
from app.extensions import db
from app.incidents.models import Incident
from app.notify.models import Notice
from app.ops.models import WorkerHeartbeat
from app.public.models import StatusLookupCode
from app.scheduling.models import Deadline
from app.staff.models import StaffAlert

log = logging.getLogger(__name__)
blp = Blueprint("ops", __name__)
SEND_RATE_WINDOW = timedelta(minutes=1)


@blp.get("/metrics")
def metrics():
    registry = current_app.extensions["noc_metrics_registry"]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    registry = CollectorRegistry()
    latency = Histogram("noc_http_request_duration_seconds", "Time to answer a request, by endpoint",
                        ["endpoint", "method", "status"], registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
    registry.register(DatabaseCollector(app))
    app.extensions["noc_metrics_registry"] = registry

    @app.before_request
    def _start_clock():
        g.noc_request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("noc_request_started", None)
        if started is not None and request.endpoint != "ops.metrics":
            latency.labels(request.endpoint or "unmatched", request.method,
                           str(response.status_code)).observe(time.perf_counter() - started)
        return response


class DatabaseCollector:
    """The cross-process figures, read from the database on each scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self):
        return []   # no collect() at registration: the database may not be there yet

    def collect(self):
        up = GaugeMetricFamily("noc_database_up", "1 when the scrape could read the database")
        try:
            with self.app.app_context():
                families = [*_notice_families(), *_staff_alert_families(), _lookup_code_family(),
                            *_deadline_families(), _heartbeat_family()]
        except Exception as exc:  # noqa: BLE001 - the scrape still answers, saying the database is down
            log.warning("metrics: database not readable (%s)", type(exc).__name__)
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _notice_families():
    since = utcnow() - SEND_RATE_WINDOW
    rows = db.session.execute(
        select(Notice.kind, Notice.status, Notice.error_code, func.count(),
               func.sum(case((Notice.accepted_at.is_not(None), 1), else_=0)),
               func.sum(case((Notice.accepted_at >= since, 1), else_=0)))
        .group_by(Notice.kind, Notice.status, Notice.error_code)).all()
    depth = GaugeMetricFamily("noc_notices", "Subscriber notices by kind and status (queued and sending: the queue)",
                              labels=["kind", "status"])
    accepted = CounterMetricFamily("noc_notices_accepted", "Subscriber notices the provider accepted",
                                   labels=["kind"])
    recent = GaugeMetricFamily("noc_notices_accepted_last_minute",
                               "Subscriber notices the provider accepted in the last minute (the send rate)",
                               labels=["kind"])
    errors = GaugeMetricFamily("noc_notice_provider_errors",
                               "Subscriber notices whose latest provider answer was this error code",
                               labels=["code"])
    for labels, value in _sum_by(rows, lambda r: (r[0], r[1]), 3).items():
        depth.add_metric(list(labels), value)
    for labels, value in _sum_by(rows, lambda r: (r[0],), 4).items():
        accepted.add_metric(list(labels), value)
    for labels, value in _sum_by(rows, lambda r: (r[0],), 5).items():
        recent.add_metric(list(labels), value)
    for labels, value in _sum_by([r for r in rows if r[2]], lambda r: (r[2],), 3).items():
        errors.add_metric(list(labels), value)
    return depth, accepted, recent, errors


def _staff_alert_families():
    rows = db.session.execute(select(StaffAlert.status, StaffAlert.error_code, func.count())
                              .group_by(StaffAlert.status, StaffAlert.error_code)).all()
    depth = GaugeMetricFamily("noc_staff_alerts", "Alerts to staff by status", labels=["status"])
    errors = GaugeMetricFamily("noc_staff_alert_provider_errors",
                               "Staff alerts whose latest provider answer was this error code", labels=["code"])
    for labels, value in _sum_by(rows, lambda r: (r[0],), 2).items():
        depth.add_metric(list(labels), value)
    for labels, value in _sum_by([r for r in rows if r[1]], lambda r: (r[1],), 2).items():
        errors.add_metric(list(labels), value)
    return depth, errors


def _lookup_code_family():
    """The "is my line affected?" codes still usable, by SMS status (queued and sending: the lane's
    queue; unsent: numbers that are no subscriber's). Expired codes are history (the expiry index)."""
    code = StatusLookupCode
    rows = db.session.execute(select(code.status, func.count()).where(code.expires_at > utcnow())
                              .group_by(code.status)).all()
    family = GaugeMetricFamily("noc_status_lookup_codes", "Unexpired status-lookup codes by SMS status",
                               labels=["status"])
    for status, count in rows:
        family.add_metric([status], count)
    return family


def _deadline_families():
    now = utcnow()
    pending = Deadline.state == "pending"
    # A drill's (演练) deadlines are judged like any, but are no compliance figure: counted only
    # among the overdue-unjudged (that gauge watches the scheduler, whoever owns the deadline).
    real = Incident.drill.is_not(True)
    rows = db.session.execute(
        select(Deadline.kind, Deadline.state, func.sum(case((real, 1), else_=0)),
               func.sum(case(((real & pending & Deadline.warned_at.is_not(None)), 1), else_=0)),
               func.sum(case(((pending & (Deadline.due_at <= now)), 1), else_=0)))
        .outerjoin(Incident, Incident.id == Deadline.incident_id)
        .group_by(Deadline.kind, Deadline.state)).all()
    states = GaugeMetricFamily("noc_deadlines", "Deadlines by kind and state (pending = due, not yet met)",
                               labels=["kind", "state"])
    warned = GaugeMetricFamily("noc_deadlines_warned", "Pending deadlines whose early warning went out",
                               labels=["kind"])
    overdue = GaugeMetricFamily("noc_deadlines_overdue_unjudged",
                                "Pending deadlines past due that no scheduler has judged yet", labels=["kind"])
    for kind, state, count, warned_count, overdue_count in rows:
        states.add_metric([kind, state], count or 0)
        if state == "pending":
            warned.add_metric([kind], warned_count or 0)
            overdue.add_metric([kind], overdue_count or 0)
    return states, warned, overdue


def _heartbeat_family():
    now = utcnow()
    family = GaugeMetricFamily("noc_worker_heartbeat_age_seconds",
                               "Seconds since each sender or scheduler process last wrote its heartbeat",
                               labels=["kind", "worker", "role"])
    for beat in db.session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.worker)):
        family.add_metric([beat.kind, beat.worker, beat.role or ""], (now - beat.beat_at).total_seconds())
    return family


def _sum_by(rows, key, column: int) -> dict:
    totals: dict = {}
    for row in rows:
        totals[key(row)] = totals.get(key(row), 0) + (row[column] or 0)
    return totals
