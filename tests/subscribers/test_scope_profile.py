"""Totals over an incident's affected subscribers are computed once per subscriber data version,
not per view, and a write to subscribers or their services makes the next view recompute."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import Role
from app.clock import utcnow
from app.compensation import engine, ledger
from app.compensation.money import fen_to_yuan
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import Status
from app.policy import current_policy
from app.subscribers import scope_profile
from app.subscribers.models import Subscriber, SubscriberService
from tests import factories


def _computed() -> int:
    return scope_profile.computed["count"]


def test_the_live_incident_page_counts_once_until_the_subscribers_change(operator_api):
    factories.subscribers(factories.phones(3), services=["mobile_data"])
    incident = factories.declared(operator_api, services=["mobile_data"], regions=["杭州"])
    before = _computed()
    first = operator_api.get(f"/incidents/{incident['id']}").json
    second = operator_api.get(f"/incidents/{incident['id']}").json
    assert first["affected_subscribers"] == second["affected_subscribers"] == 3
    assert _computed() == before  # declaring computed it; the views read it

    factories.subscribers(factories.phones(2, start=10), services=["mobile_data"])  # an import, an edit …
    assert operator_api.get(f"/incidents/{incident['id']}").json["affected_subscribers"] == 5
    assert _computed() == before + 1

    # a service removed (subscriber_services only) and a subscriber deleted: both seen
    db.session.execute(sa.delete(SubscriberService).where(SubscriberService.subscriber_id == db.session.scalar(
        sa.select(sa.func.min(Subscriber.id)))))
    db.session.commit()
    assert operator_api.get(f"/incidents/{incident['id']}").json["affected_subscribers"] == 4
    db.session.execute(sa.update(Subscriber).where(Subscriber.phone == factories.phones(1, start=10)[0])
                       .values(region="宁波"))
    db.session.commit()
    assert operator_api.get(f"/incidents/{incident['id']}").json["affected_subscribers"] == 3


def test_a_scope_change_is_a_new_key(app_ctx):
    factories.subscribers(factories.phones(2), services=["mobile_data"])
    factories.subscribers(factories.phones(1, start=5), region="宁波", services=["mobile_data"])
    policy = current_policy()
    assert scope_profile.profile(["mobile_data"], ["杭州"], policy).affected == 2
    assert scope_profile.profile(["mobile_data"], ["杭州", "宁波"], policy).affected == 3
    assert scope_profile.profile(["mobile_data"], ["宁波", "杭州"], policy).affected == 3  # order-blind


@pytest.mark.parametrize("shares,minutes", [({"technical": 100}, 545), ({"technical": 35, "external": 65}, 200),
                                            ({"external": 100}, 30), ({"technical": 100}, 10)])
def test_preview_totals_from_the_profile_equal_the_sql_over_every_row(make_user, shares, minutes):
    # varied fees (rounding per row) and data / no data subscribers
    for index, fee in enumerate([0, 1, 99, 5800, 5801, 12850, 19999, 5800]):
        services = ["mobile_data"] if index % 3 else ["fixed_voice"]
        factories.subscribers(factories.phones(1, start=100 + index), fee_fen=fee, services=services)
    manager, _ = make_user(Role.duty_manager)
    incident = factories.incident_in(Status.responding, manager, services=["mobile_data", "fixed_voice"],
                                     regions=["杭州"], detected_at=utcnow() - timedelta(minutes=minutes))
    incident.responsibilities.clear()
    db.session.flush()
    incidents.set_responsibility(incident.id, manager, [
        incidents.ResponsibilityEntry("technical" if category == "technical" else "external",
                                      "equipment_failure" if category == "technical" else "power_outage", category,
                                      share) for category, share in shares.items()])
    policy = current_policy()
    terms, rows = engine.preview(incident, policy)
    by_sql = ledger._totals(rows)
    by_profile = engine.preview_totals(incident, terms, policy)
    assert by_sql == {"subscribers": by_profile["subscribers"], "credited_subscribers": by_profile["credited_subscribers"],
                      "economic_credit": fen_to_yuan(by_profile["economic_credit_fen"]),
                      "data_credit_gb": by_profile["data_credit_gb"]}
    assert by_profile["subscribers"] == 8
