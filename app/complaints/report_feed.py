"""What the analysis report reads about the complaints an incident drew (app/reports/providers.py)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, cast, func, select

from app.complaints.models import BEFORE_RESULT, Complaint
from app.extensions import db
from app.incidents.models import Incident
from app.scheduling.models import ComplaintDeadlineKind, Deadline, DeadlineState


def incident_complaints(incident: Incident) -> dict[str, Any]:
    """Counts by category, fed back or awaiting, feedback on time, repeats and mean satisfaction: three queries."""
    linked = Complaint.incident_id == incident.id
    by_category = dict(db.session.execute(
        select(Complaint.category, func.count()).where(linked).group_by(Complaint.category)).all())
    total, awaiting, repeats, satisfaction = db.session.execute(select(
        func.count(), func.sum(case((Complaint.status.in_([s.value for s in BEFORE_RESULT]), 1), else_=0)),
        func.sum(cast(Complaint.repeat, Integer)), func.avg(Complaint.satisfaction)).where(linked)).one()
    feedback = dict(db.session.execute(
        select(Deadline.state, func.count()).join(Complaint, Complaint.id == Deadline.complaint_id)
        .where(linked, Deadline.kind == ComplaintDeadlineKind.feedback.value).group_by(Deadline.state)).all())
    return {
        "total": total, "by_category": by_category, "awaiting_result": int(awaiting or 0),
        "fed_back": total - int(awaiting or 0), "repeats": int(repeats or 0),
        "feedback_met": feedback.get(DeadlineState.met.value, 0),
        "feedback_breached": feedback.get(DeadlineState.breached.value, 0),
        "satisfaction": round(float(satisfaction), 2) if satisfaction is not None else None,
    }
