"""The notifier's figures for the analysis report: counts by kind, the delivery curve, satisfaction."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import select, update

from app.extensions import db
from app.notify import reporting
from app.notify.models import Notice, SatisfactionScore
from tests.notify.helpers import add_subscribers, phones

RECOVERED = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def _set(notice_ids, **values):
    db.session.execute(update(Notice).where(Notice.id.in_(notice_ids)).values(**values))
    db.session.commit()


def test_counts_curve_and_satisfaction_come_from_the_outbox(app_ctx, no_outage_notice, recovered_incident):
    add_subscribers(phones(5))
    add_subscribers(phones(2, start=100), opted_out=True)
    with freeze_time(RECOVERED):
        incident = recovered_incident()
    ids = list(db.session.scalars(select(Notice.id).where(Notice.kind == "recovery").order_by(Notice.id)))
    assert len(ids) == 5  # the two opted-out subscribers get no recovery notice
    # What the sender and the status callbacks would have written:
    _set(ids[:2], status="delivered", updated_at=RECOVERED + timedelta(minutes=1, seconds=10))
    _set(ids[2:3], status="delivered", updated_at=RECOVERED + timedelta(minutes=3, seconds=59))
    _set(ids[3:4], status="failed", error_code="21211", updated_at=RECOVERED + timedelta(minutes=2))
    _set(ids[4:5], status="failed", error_code="21610", updated_at=RECOVERED + timedelta(minutes=2))

    recovery = next(c for c in reporting.notice_counts(incident) if c["kind"] == "recovery")
    assert recovery == {"kind": "recovery", "sent": 3, "delivered": 3, "failed": 2, "opted_out": 3}
    assert reporting.notice_delivery_series(incident) == [
        {"kind": "recovery", "minute": RECOVERED + timedelta(minutes=1), "delivered": 2},
        {"kind": "recovery", "minute": RECOVERED + timedelta(minutes=3), "delivered": 1},
    ]

    assert reporting.satisfaction(incident) is None or reporting.satisfaction(incident)["replies"] == 0
    subscribers = db.session.scalars(select(Notice.subscriber_id).where(Notice.id.in_(ids[:3]))).all()
    for subscriber_id, score in zip(subscribers, (5, 4, 5)):
        db.session.add(SatisfactionScore(incident_id=incident.id, subscriber_id=subscriber_id, score=score,
                                         received_at=RECOVERED + timedelta(hours=2)))
    db.session.commit()
    result = reporting.satisfaction(incident)
    assert (result["replies"], result["average"], result["distribution"]) == (3, 4.67, {4: 1, 5: 2})
