"""The cross-incident review (月度服务质量分析): figures over the incidents detected in a period."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.incidents.causes import CauseCategory
from app.incidents.models import Incident, Level, Status
from app.outbound.models import OutboundReport, ReportTarget
from app.policy import Policy
from app.reports import compliance, providers
from app.reports.formatting import yuan
from app.scheduling.models import DeadlineKind


def _mean_minutes(pairs: list[tuple[datetime, datetime | None]]) -> float | None:
    spans = [(end - start).total_seconds() / 60 for start, end in pairs if end is not None]
    return round(sum(spans) / len(spans), 1) if spans else None


def _reported_times(incidents: list[Incident]) -> dict[int, datetime | None]:
    """When each incident counts as reported (RULES §9): the dispatch centre's first acknowledgement
    of its 上报, not the button. An incident with no 上报 on record at all (reported before the
    product sent them, migration 0022) keeps its button time; one still unacknowledged has none."""
    acknowledged: dict[int, datetime | None] = {}
    for incident_id, first_ack in db.session.execute(
            select(OutboundReport.incident_id, func.min(OutboundReport.acknowledged_at))
            .where(OutboundReport.incident_id.in_([i.id for i in incidents]),
                   OutboundReport.target == ReportTarget.dispatch.value)
            .group_by(OutboundReport.incident_id)):
        acknowledged[incident_id] = first_ack
    return {i.id: acknowledged[i.id] if i.id in acknowledged else i.reported_at for i in incidents}


def summarize(start: datetime, end: datetime, policy: Policy) -> dict[str, Any]:
    # Drills (演练) are exercises, not outages: they count in no figure here, only as ``drills``.
    in_period = (Incident.detected_at >= start) & (Incident.detected_at < end)
    incidents = db.session.scalars(
        select(Incident).where(in_period, Incident.drill.is_(False)).order_by(Incident.detected_at)
    ).all()
    drills = db.session.scalar(select(func.count()).select_from(Incident).where(in_period, Incident.drill.is_(True)))
    counted = [i for i in incidents if i.status != Status.cancelled.value]  # false alarms are not outages

    by_grade = Counter(i.level for i in counted)
    by_category = Counter(category for i in counted for category in {r.category for r in i.responsibilities})
    windows: dict[str, Counter] = {kind: Counter() for kind in compliance.WINDOW_ORDER}
    sources = set()
    for incident in counted:
        source, outcomes = compliance.outcomes(incident, policy)
        sources.add(source)
        for outcome in outcomes:
            windows[outcome.kind][outcome.state] += 1
    compliance_rows = []
    for kind, states in windows.items():
        judged = states["met"] + states["breached"]
        compliance_rows.append({
            "kind": kind, "label_zh": DeadlineKind(kind).label, "label_en": DeadlineKind(kind).label_en,
            "met": states["met"], "breached": states["breached"], "pending": states["pending"],
            "unknown": states["unknown"],
            "rate": round(states["met"] / judged, 4) if judged else None,
        })
    paid = providers.compensation_paid_fen([i.id for i in counted])
    reported = _reported_times(counted)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "policy_version": policy.version,
        "incidents": len(counted),
        "cancelled": len(incidents) - len(counted),
        "drills": drills or 0,
        "major": sum(1 for i in counted if i.major),
        "by_grade": [{"level": level.value, "label_zh": level.label, "count": by_grade.get(level, 0)} for level in Level],
        "by_cause_category": [{"category": c.value, "label_zh": c.label, "count": by_category.get(c, 0)}
                              for c in CauseCategory],
        "without_cause": sum(1 for i in counted if not i.responsibilities),
        "compliance": compliance_rows,
        "compliance_source": sorted(sources),
        "compliance_note": compliance.FALLBACK_NOTE if compliance.SOURCE_FALLBACK in sources else None,
        "mean_minutes_to_report": _mean_minutes([(i.detected_at, reported[i.id]) for i in counted]),
        "mean_minutes_to_respond": _mean_minutes([(i.detected_at, i.responded_at) for i in counted]),
        "mean_minutes_to_recover": _mean_minutes([(i.detected_at, i.recovered_at) for i in counted]),
        # Recovered incidents only: an open incident's figure is still growing.
        "user_minutes": sum(i.user_minutes_at_recovery or 0 for i in counted),
        "compensation_paid_fen": paid,
        "compensation_paid": yuan(paid).replace(",", ""),
    }
