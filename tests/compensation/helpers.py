"""Builders shared by the compensation tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.compensation import engine
from app.extensions import db
from app.incidents.models import Incident, Responsibility
from app.policy import current_policy

DETECTED = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)


def incident_for(minutes: int, shares: dict[str, int], *, level: int = 2,
                 services=("mobile_data", "fixed_voice"), regions=("杭州",)) -> Incident:
    """A transient incident (never stored) recovered ``minutes`` after DETECTED with these shares."""
    return Incident(
        services=list(services), regions=list(regions), level=level, detected_at=DETECTED,
        recovered_at=DETECTED + timedelta(minutes=minutes),
        responsibilities=[Responsibility(category=c, sub_cause="x", party=c, share=s) for c, s in shares.items()],
    )


def preview_by_subscriber(incident: Incident, policy=None) -> tuple[engine.CreditTerms, dict[int, tuple[int, int]]]:
    """{subscriber_id: (economic_credit_fen, data_credit_gb)} as the engine's SQL computes them."""
    terms, rows = engine.preview(incident, policy or current_policy())
    result = {r.subscriber_id: (r.economic_credit_fen, r.data_credit_gb) for r in db.session.execute(rows)}
    return terms, result
