"""Builders shared by the compensation tests."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from app.clock import utcnow
from app.compensation import engine
from app.extensions import db
from app.incidents.models import Incident, Responsibility
from app.policy import current_policy
from app.subscribers.models import Subscriber, SubscriberService

DETECTED = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
_phones = itertools.count(1)


def add_subscriber(fee_fen: int, services: list[str], region: str = "杭州") -> Subscriber:
    now = utcnow()
    subscriber = Subscriber(
        phone=f"+86138{next(_phones):08d}", name="", region=region, monthly_fee_fen=fee_fen, language="zh-CN",
        created_at=now, updated_at=now, service_rows=[SubscriberService(service=s) for s in services],
    )
    db.session.add(subscriber)
    db.session.flush()
    return subscriber


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
