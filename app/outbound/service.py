"""Queue, deliver and read the outbound reports (RULES §9).

- ``queue_dispatch_report``: called by ``app.incidents.flows.reported`` in the 上报 transition; the
  button only starts the report. The receiver's 2xx (``record_acknowledged``) meets the
  ``report`` deadline, at the acknowledgement's time.
- ``queue_regulator_crossings``: the worker's periodic look at the regulator-reportable line
  (it moves with time while an incident is open); one report per incident that crossed it.
- ``record_acknowledged`` / ``record_failure``: one attempt's outcome, on the timeline.
Functions here run in the caller's transaction and never commit (the worker commits).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, select, text, update

from app.clock import utcnow
from app.db_types import UTCDateTime
from app.extensions import db
from app.incidents import timeline
from app.incidents.locks import lock_incidents
from app.incidents.models import Incident, Level, Status
from app.incidents.timeline_kinds import EventKind
from app.outbound.models import DeliveryState, OutboundReport, ReportTarget
from app.notify import drills
from app.policy import Policy, current_policy
from app.scheduling import service as deadlines
from app.scheduling.models import DeadlineKind
from app.sql import dialect_insert

_UTC = UTCDateTime()
# An incident can still cross the regulator line until it is closed or cancelled.
_REGULATOR_WATCHED = (Status.declared, Status.reported, Status.responding, Status.recovered)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _common_body(incident: Incident, kind: str, key: str) -> dict:
    return {
        # A drill's reports say so twice: a flag for machines and the 【演练】 mark for people.
        "type": kind, "idempotency_key": key, "incident_number": incident.number, "drill": bool(incident.drill),
        "title": drills.mark(incident.title, bool(incident.drill)),
        "grade": incident.level, "grade_label": Level(incident.level).label, "major": bool(incident.major),
        "fault_type": incident.fault_type,
        "scope": {"summary": incident.scope_summary, "services": list(incident.services or []),
                  "regions": list(incident.regions or [])},
        "detected_at": _iso(incident.detected_at), "expected_recovery_at": _iso(incident.estimated_recovery_at),
    }


def _queue(incident: Incident, target: ReportTarget, body: dict, revision: int, now: datetime) -> bool:
    """Insert the message once per (incident, target, revision); True when this call queued it."""
    statement = dialect_insert(OutboundReport.__table__).values(
        incident_id=incident.id, target=target.value, revision=revision, idempotency_key=body["idempotency_key"],
        # The exact text signed on every attempt: a re-send is byte-identical.
        body=json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        status=DeliveryState.queued.value, attempts=0, failures=0, next_attempt_at=now, created_at=now,
    ).on_conflict_do_nothing()
    return bool(db.session.execute(statement).rowcount)


def idempotency_key(incident: Incident, target: ReportTarget, revision: int) -> str:
    return f"{incident.number}/{target.value}/{revision}"


def queue_dispatch_report(incident: Incident) -> bool:
    """The 上报 (fault type, scope, expected recovery, number, grade) to the dispatch centre."""
    key = idempotency_key(incident, ReportTarget.dispatch, 1)
    body = _common_body(incident, "fault_report", key) | {"reported_at": _iso(incident.reported_at)}
    return _queue(incident, ReportTarget.dispatch, body, 1, utcnow())


def queue_regulator_report(incident: Incident, affected: int, minutes: int) -> bool:
    key = idempotency_key(incident, ReportTarget.regulator, 1)
    body = _common_body(incident, "regulator_report", key) | {
        "status": incident.status, "affected_subscribers": affected, "outage_minutes": minutes,
        "user_minutes": affected * minutes, "recovered_at": _iso(incident.recovered_at)}
    queued = _queue(incident, ReportTarget.regulator, body, 1, utcnow())
    if queued:
        timeline.record(incident, EventKind.regulator_report_started, actor=None,
                        message=f"已达监管报送标准（受影响 {affected} 户，中断 {minutes} 分钟），发起监管报送 "
                                "(crossed the regulator-reportable line; report queued)",
                        after={"affected_subscribers": affected, "outage_minutes": minutes})
    return queued


def _minimum_minutes(policy: Policy) -> int:
    line = policy.regulator
    return min(int(line["users_duration_minutes"]), int(line["user_minutes_min_duration_minutes"]))


def queue_regulator_crossings(now: datetime | None = None, policy: Policy | None = None) -> list[int]:
    """Queue a regulator report for each watched incident past the line that has none yet.

    Incidents younger than the line's shortest duration are not even counted (cheap SQL filter)."""
    from app.incidents.service import affected_count, outage_minutes_so_far  # the service imports flows → here

    policy = policy or current_policy()
    now = now or utcnow()
    sent = exists().where(OutboundReport.incident_id == Incident.id,
                          OutboundReport.target == ReportTarget.regulator.value)
    candidates = db.session.scalars(select(Incident).where(
        Incident.status.in_([s.value for s in _REGULATOR_WATCHED]), ~sent,
        Incident.detected_at <= now - timedelta(minutes=_minimum_minutes(policy))).order_by(Incident.id)).all()
    from app.incidents.grading import is_regulator_reportable

    queued = []
    for incident in candidates:
        affected = affected_count(incident, policy)
        minutes = outage_minutes_so_far(incident)
        if is_regulator_reportable(affected, minutes, policy) and queue_regulator_report(incident, affected, minutes):
            queued.append(incident.id)
    return queued


RESENT_NOTE = "（上次发送结果未知，已以同一幂等键重发）"


def record_acknowledged(report_id: int, at: datetime, status_code: int, receipt: str | None, *,
                        resent: bool = False) -> bool:
    """The receiver answered 2xx: the report is acknowledged, once, whichever claim sent it.

    Not guarded by the claim token: an acknowledgement is the receiver's word, true even when it
    reached a sender whose lease had run out. For the dispatch centre it meets ``report`` at ``at``."""
    row = db.session.get(OutboundReport, report_id)
    if row is None:
        return False
    lock_incidents([row.incident_id])   # the one lock order: incident, then its deadlines
    result = db.session.execute(
        update(OutboundReport).where(OutboundReport.id == report_id, OutboundReport.acknowledged_at.is_(None))
        .values(status=DeliveryState.acknowledged.value, acknowledged_at=at, claim_token=None, in_doubt_since=None,
                response_status=status_code, receipt=(receipt or None) and str(receipt)[:100])
        .execution_options(synchronize_session=False))
    if not result.rowcount:
        return False
    incident = db.session.get(Incident, row.incident_id)
    target = ReportTarget(row.target)
    timeline.record(incident, EventKind.outbound_acknowledged, actor=None,
                    message=f"{target.label}已确认接收（第 {row.attempts} 次发送，回执 {receipt or '无'}）"
                            f"{RESENT_NOTE if resent else ''} ({target.label_en} acknowledged, attempt {row.attempts})",
                    after={"target": target.value, "attempt": row.attempts, "acknowledged_at": at.isoformat(),
                           "resent_in_doubt": resent,
                           "http_status": status_code, "receipt": receipt, "idempotency_key": row.idempotency_key})
    if target == ReportTarget.dispatch:
        deadlines.fulfil(incident, DeadlineKind.report, at)
    return True


def record_failure(report_id: int, token: str, at: datetime, error: str, retry_at: datetime, *,
                   resent: bool = False) -> bool:
    """One attempt failed (unreachable, timeout, non-2xx): back to the queue until ``retry_at``.

    Guarded by the claim token: a sender whose lease ran out never overwrites the one that took over."""
    error = error[:300]
    result = db.session.execute(text("""
        UPDATE outbound_reports SET status = 'queued', claim_token = NULL, next_attempt_at = :retry_at,
               failures = failures + 1, first_error = COALESCE(first_error, :error),
               first_error_at = COALESCE(first_error_at, :at), last_error = :error, last_error_at = :at
        WHERE id = :id AND claim_token = :token AND status = 'sending'""").bindparams(
        bindparam("at", type_=_UTC), bindparam("retry_at", type_=_UTC)),
        {"id": report_id, "token": token, "at": at, "retry_at": retry_at, "error": error})
    if not result.rowcount:
        return False
    row = db.session.get(OutboundReport, report_id)
    db.session.refresh(row)
    target = ReportTarget(row.target)
    wait = max(0, int((retry_at - at).total_seconds()))
    timeline.record(db.session.get(Incident, row.incident_id), EventKind.outbound_attempt_failed, actor=None,
                    message=f"{target.label}报送第 {row.attempts} 次发送失败：{error}；{wait} 秒后重试"
                            f"{RESENT_NOTE if resent else ''} ({target.label_en} attempt {row.attempts} failed; "
                            f"retry in {wait} s)",
                    after={"target": target.value, "attempt": row.attempts, "error": error, "resent_in_doubt": resent,
                           "retry_at": retry_at.isoformat(), "idempotency_key": row.idempotency_key})
    return True


def deliveries_of(incident_id: int) -> list[OutboundReport]:
    return list(db.session.scalars(select(OutboundReport).where(OutboundReport.incident_id == incident_id)
                                   .order_by(OutboundReport.id)))


def describe(row: OutboundReport) -> dict:
    """One delivery for the API and the console."""
    target = ReportTarget(row.target)
    return {
        "target": target.value, "target_label": target.label, "revision": row.revision,
        "idempotency_key": row.idempotency_key, "state": row.status, "state_label": DeliveryState.label_of(row.status),
        "attempts": row.attempts, "failures": row.failures, "queued_at": row.created_at,
        "next_attempt_at": row.next_attempt_at if row.acknowledged_at is None else None,
        "acknowledged_at": row.acknowledged_at, "receipt": row.receipt,
        "first_error": row.first_error, "first_error_at": row.first_error_at,
        "last_error": row.last_error, "last_error_at": row.last_error_at,
    }
