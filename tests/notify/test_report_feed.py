"""The notifier's figures for the analysis report: counts by kind, the delivery curve, satisfaction."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import select, update

from app.extensions import db
from app.notify import report_feed
from app.notify.models import Notice, SatisfactionScore
from tests import factories

RECOVERED = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def _set(notice_ids, **values):
    db.session.execute(update(Notice).where(Notice.id.in_(notice_ids)).values(**values))
    db.session.commit()


def test_counts_curve_and_satisfaction_come_from_the_outbox(app_ctx, no_outage_notice, recovered_incident):
    factories.subscribers(factories.phones(5))
    factories.subscribers(factories.phones(2, start=100), opted_out=True)
    with freeze_time(RECOVERED):
        incident = recovered_incident()
    ids = list(db.session.scalars(select(Notice.id).where(Notice.kind == "recovery").order_by(Notice.id)))
    assert len(ids) == 5  # the two opted-out subscribers get no recovery notice
    # What the sender and the status callbacks would have written:
    _set(ids[:2], status="delivered", updated_at=RECOVERED + timedelta(minutes=1, seconds=10))
    _set(ids[2:3], status="delivered", updated_at=RECOVERED + timedelta(minutes=3, seconds=59))
    _set(ids[3:4], status="failed", error_code="21211", updated_at=RECOVERED + timedelta(minutes=2))
    _set(ids[4:5], status="failed", error_code="21610", updated_at=RECOVERED + timedelta(minutes=2))

    recovery = next(c for c in report_feed.notice_counts(incident) if c["kind"] == "recovery")
    assert recovery == {"kind": "recovery", "sent": 3, "delivered": 3, "failed": 2, "opted_out": 3}
    assert report_feed.notice_delivery_series(incident) == [
        {"kind": "recovery", "minute": RECOVERED + timedelta(minutes=1), "delivered": 2},
        {"kind": "recovery", "minute": RECOVERED + timedelta(minutes=3), "delivered": 1},
    ]

    assert report_feed.satisfaction(incident) is None or report_feed.satisfaction(incident)["replies"] == 0
    subscribers = db.session.scalars(select(Notice.subscriber_id).where(Notice.id.in_(ids[:3]))).all()
    for subscriber_id, score in zip(subscribers, (5, 4, 5)):
        db.session.add(SatisfactionScore(incident_id=incident.id, subscriber_id=subscriber_id, score=score,
                                         received_at=RECOVERED + timedelta(hours=2)))
    db.session.commit()
    result = report_feed.satisfaction(incident)
    assert (result["replies"], result["average"], result["distribution"]) == (3, 4.67, {4: 1, 5: 2})


def test_opted_out_counts_each_subscriber_once_per_kind_through_the_real_sender(
        app_ctx, client, declare, operator, gateway, sender):
    """Regression: "opted out" used to be everyone opted out *now*, added to every kind, plus the
    21610 refusals again — so a carrier opt-out counted twice, and a subscriber who sent 退订 after
    receiving the 故障通知 counted as opted out of it. Now, per kind: opted out and never queued,
    plus the notices the carrier refused (21610) or the sender skipped because of an opt-out."""
    from app.incidents import service as incidents
    from app.clock import utcnow
    from tests.notify.helpers import drain, signed_post

    factories.subscribers(["+8613800000001", "+8613800000002", "+8613800021610", "+8613800000077", "+8613800000088"])
    factories.subscribers(["+8613800000099"], opted_out=True)                    # opted out before the incident

    def stop(phone):
        assert signed_post(client, app_ctx, "/api/v1/webhooks/sms/inbound", {"From": phone, "Body": "退订"}).status_code == 200

    incident = declare()
    incidents.report(incident.id, operator, fault_type="基站退服", scope_summary="杭州",
                     estimated_recovery_at=utcnow().replace(year=2099))
    drain(sender)                        # 故障通知: 4 accepted, the carrier refuses …21610 (and opts it out)
    stop("+8613800000077")               # 退订 after receiving the 故障通知
    incidents.respond(incident.id, operator, responder="张伟", emergency_response=False)
    incident = incidents.recover(incident.id, operator, summary="已恢复")
    stop("+8613800000088")               # 退订 after the 恢复通知 was queued for them: the sender skips it
    drain(sender)

    counts = {c["kind"]: c for c in report_feed.notice_counts(incident)}
    assert counts["outage"] == {"kind": "outage", "sent": 4, "delivered": 0, "failed": 1, "opted_out": 2}
    assert counts["recovery"] == {"kind": "recovery", "sent": 2, "delivered": 0, "failed": 1, "opted_out": 4}
