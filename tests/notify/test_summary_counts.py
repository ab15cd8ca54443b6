"""The notices panel's counts are counted once per change of the incident's notices, not per
view (issue 15), and stay exact after sends, failures and delivery callbacks."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select, update

from app.clock import utcnow
from app.extensions import db
from app.notify import summary_cache
from app.notify.models import Notice
from tests import factories
from tests.incidents.test_list_queries import counted_statements
from tests.notify.helpers import drain, post_status_callbacks


@pytest.fixture
def summary_config(app_ctx):
    original = dict(app_ctx.config)

    def _set(ttl: float, settle: float) -> None:
        app_ctx.config.update(NOC_NOTICE_SUMMARY_TTL_SECONDS=ttl, NOC_NOTICE_SUMMARY_SETTLE_SECONDS=settle)
        summary_cache.clear()
    yield _set
    app_ctx.config.clear()
    app_ctx.config.update(original)


def truth(incident_id: int) -> dict[str, dict[str, int]]:
    """The counts as a GROUP BY over every notice says them."""
    counts: dict[str, dict[str, int]] = {}
    for kind, status, n in db.session.execute(select(Notice.kind, Notice.status, func.count()).where(
            Notice.incident_id == incident_id).group_by(Notice.kind, Notice.status)):
        counts.setdefault(kind, {})[status] = n
    return counts


def report(api, incident_id: int) -> dict:
    response = api.get(f"/incidents/{incident_id}/notifications?per_page=2")
    assert response.status_code == 200, response.json
    return response.json


def notice_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM notices" in s]


def test_counts_are_exact_after_sends_failures_and_callbacks(app_ctx, operator_api, client, no_outage_notice,
                                                            recovered_incident, gateway, sender, summary_config):
    summary_config(ttl=0, settle=0)   # every count settles at once: only the change version decides
    factories.subscribers(["+8613800021211", "+8613800021610"] + factories.phones(3))
    incident = recovered_incident()
    first = report(operator_api, incident.id)
    assert first["counts"]["recovery"] == {"queued": 5} and first["total"] == 10   # and the survey
    drain(sender)
    after_send = report(operator_api, incident.id)
    assert after_send["counts"]["recovery"] == {"accepted": 3, "failed": 2} == truth(incident.id)["recovery"]
    recovery = next(n for n in after_send["notices"] if n["kind"] == "recovery")
    assert (recovery["total"], recovery["sent"], recovery["pending"]) == (5, 5, 0)
    assert after_send["total"] == 10
    # delivery callbacks (the webhook, like another process would) move the counts on
    accepted = [n.id for n in db.session.scalars(select(Notice).where(Notice.status == "accepted"))]
    post_status_callbacks(client, gateway, {accepted[0]: ("delivered", None), accepted[1]: ("undelivered", "30006")})
    final = report(operator_api, incident.id)
    assert final["counts"] == truth(incident.id)
    assert final["counts"]["recovery"] == {"accepted": 1, "delivered": 1, "undelivered": 1, "failed": 2}
    filtered = operator_api.get(f"/incidents/{incident.id}/notifications?kind=recovery&status=failed").json
    assert filtered["total"] == 2 and len(filtered["items"]) == 2


def test_a_settled_view_reads_no_notice_rows(app_ctx, operator_api, no_outage_notice, recovered_incident,
                                             summary_config):
    summary_config(ttl=10, settle=300)
    factories.subscribers(factories.phones(30))
    with freeze_time(utcnow()) as frozen:
        incident = recovered_incident()
        assert report(operator_api, incident.id)["counts"]["recovery"] == {"queued": 30}
        frozen.tick(timedelta(seconds=301))
        before = summary_cache.computed["count"]
        report(operator_api, incident.id)        # counted again, now long after the last change: settled
        assert summary_cache.computed["count"] == before + 1
        frozen.tick(timedelta(hours=1))
        with counted_statements() as statements:
            again = report(operator_api, incident.id)
        assert again["counts"]["recovery"] == {"queued": 30} and again["total"] == 60
        assert summary_cache.computed["count"] == before + 1
        reads = notice_reads(statements)
        # the change version (one index entry) and the page of 2 rows: nothing counted, no rate
        assert len(reads) == 2, reads
        assert not [s for s in reads if "count(" in s.lower()], reads
        assert any("max(notices.updated_at)" in s for s in reads) and any("LIMIT" in s for s in reads), reads
        # a change anywhere (here a bare UPDATE, as another process's sender) moves the version: exact at once
        db.session.execute(update(Notice).where(Notice.kind == "recovery", Notice.subscriber_id <= 4).values(
            status="accepted", accepted_at=utcnow(), updated_at=utcnow()))
        db.session.commit()
        moved = report(operator_api, incident.id)
        assert moved["counts"]["recovery"] == {"accepted": 4, "queued": 26} == truth(incident.id)["recovery"]
        recovery = next(n for n in moved["notices"] if n["kind"] == "recovery")
        assert recovery["rate_per_second"] == round(4 / 60, 2)


def test_a_live_view_may_be_as_old_as_the_ttl_and_no_older(app_ctx, operator_api, no_outage_notice,
                                                            recovered_incident, summary_config):
    summary_config(ttl=10, settle=300)
    factories.subscribers(factories.phones(8))
    with freeze_time(utcnow()) as frozen:
        incident = recovered_incident()
        assert report(operator_api, incident.id)["counts"]["recovery"] == {"queued": 8}
        db.session.execute(update(Notice).where(Notice.kind == "recovery", Notice.subscriber_id <= 2).values(
            status="accepted", accepted_at=utcnow(), updated_at=utcnow()))
        db.session.commit()
        frozen.tick(timedelta(seconds=5))
        with counted_statements() as statements:
            live = report(operator_api, incident.id)
        assert live["counts"]["recovery"] == {"queued": 8}        # within the TTL: kept, not recounted
        assert not [s for s in notice_reads(statements) if "GROUP BY notices.batch_id, notices.kind" in s]
        recovery = next(n for n in live["notices"] if n["kind"] == "recovery")
        assert recovery["rate_per_second"] == round(2 / 60, 2)   # the rate is read live (last minute only)
        frozen.tick(timedelta(seconds=6))
        assert report(operator_api, incident.id)["counts"]["recovery"] == {"accepted": 2, "queued": 6}


def test_queuing_stamps_the_change_version(app_ctx, no_outage_notice, recovered_incident):
    factories.subscribers(factories.phones(3))
    incident = recovered_incident()
    assert db.session.scalar(select(func.count()).where(Notice.incident_id == incident.id,
                                                        Notice.updated_at.is_(None))) == 0
    assert summary_cache.change_version(incident.id) is not None
