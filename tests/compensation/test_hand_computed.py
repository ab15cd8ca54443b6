"""Hand-computed cases (RULES §5) with the expected fen written out.

Default policy: billing period 720 h, minimum outage 30 min, breach ×2, 1 GB per started
4 h for data subscribers, capped at 10 GB. Scope mobile_data + fixed_voice in 杭州 is
level 2: recovery window 480 min. Subscribers:
  A  mobile_data (a data service)  58.00 CNY = 5800 fen
  B  fixed_voice (no data service) 128.00 CNY = 12800 fen
  C  mobile_data in 宁波 — outside the scope, never in the ledger.
economic_fen = round_half_up(fee × minutes × operator_share% × multiplier / (720 × 60 × 100)),
the denominator being 4,320,000.
"""
from __future__ import annotations

import pytest

from app.compensation import engine
from app.policy import current_policy, parse_policy
from tests import factories
from tests.compensation.helpers import incident_for, preview_by_subscriber


@pytest.fixture
def subscribers(app_ctx):
    a = factories.subscriber(fee_fen=5800, services=["mobile_data"])
    b = factories.subscriber(fee_fen=12800, services=["fixed_voice"])
    c = factories.subscriber(fee_fen=9900, services=["mobile_data"], region="宁波")
    return a.id, b.id, c.id


def test_pure_operator_fault(subscribers):
    a, b, c = subscribers
    # technical 100 %, 180 min (3 h, within 8 h): A 5800×180×100/4.32e6 = 24.17 → 24 fen; 1 started 4 h block → 1 GB
    # B 12800×180×100/4.32e6 = 53.33 → 53 fen; no data service → 0 GB
    terms, rows = preview_by_subscriber(incident_for(180, {"technical": 100}))
    assert (terms.operator_share, terms.multiplier, terms.outage_minutes) == (100, 1, 180)
    assert rows == {a: (24, 1), b: (53, 0)}
    assert c not in rows


def test_mixed_technical_management_and_external(subscribers):
    a, b, _ = subscribers
    # technical 50 + management 20 (operator's: 70 %) + external 30 (not), 300 min:
    # A 5800×300×70/4.32e6 = 28.19 → 28 fen, ⌈300/240⌉ = 2 GB; B 12800×300×70/4.32e6 = 62.22 → 62 fen
    terms, rows = preview_by_subscriber(incident_for(300, {"technical": 50, "management": 20, "external": 30}))
    assert terms.operator_share == 70
    assert rows == {a: (28, 2), b: (62, 0)}


def test_force_majeure_gives_service_credit_only(subscribers):
    a, b, _ = subscribers
    # natural disaster 100 % external, 600 min (window breached, ×2 — but share 0): no money;
    # A still gets ⌈600/240⌉ = 3 GB whatever the responsibility
    terms, rows = preview_by_subscriber(incident_for(600, {"external": 100}))
    assert terms.recovery_window_breached and terms.multiplier == 2 and terms.operator_share == 0
    assert rows == {a: (0, 3), b: (0, 0)}


def test_breached_recovery_window_doubles_the_credit(subscribers):
    a, b, _ = subscribers
    # 545 min > 480 min window → ×2: A 5800×545×100×2/4.32e6 = 146.34 → 146 fen, ⌈545/240⌉ = 3 GB;
    # B 12800×545×100×2/4.32e6 = 322.96 → 323 fen
    terms, rows = preview_by_subscriber(incident_for(545, {"technical": 100}))
    assert terms.recovery_window_breached and terms.multiplier == 2
    assert rows == {a: (146, 3), b: (323, 0)}


def test_recovery_exactly_at_the_window_is_not_breached(subscribers):
    a, b, _ = subscribers
    # 480 min = the window itself: met, ×1. A 5800×480×100/4.32e6 = 64.44 → 64; B 142.22 → 142; 2 GB
    terms, rows = preview_by_subscriber(incident_for(480, {"technical": 100}))
    assert not terms.recovery_window_breached
    assert rows == {a: (64, 2), b: (142, 0)}


def test_outage_under_the_minimum_credits_nothing(subscribers):
    a, b, _ = subscribers
    # 29 min < 30 min: no economic credit and (policy default) no data credit
    terms, rows = preview_by_subscriber(incident_for(29, {"technical": 100}))
    assert terms.below_minimum
    assert rows == {a: (0, 0), b: (0, 0)}
    # exactly 30 min credits: A 5800×30×100/4.32e6 = 4.03 → 4 fen, 1 GB; B 8.89 → 9 fen
    _, rows = preview_by_subscriber(incident_for(30, {"technical": 100}))
    assert rows == {a: (4, 1), b: (9, 0)}


def test_policy_can_grant_the_data_credit_below_the_minimum(subscribers):
    a, b, _ = subscribers
    data = {**current_policy().data, "compensation": {**current_policy().compensation,
                                                      "data_credit_requires_minimum_outage": False}}
    _, rows = preview_by_subscriber(incident_for(29, {"technical": 100}), parse_policy(data))
    assert rows == {a: (0, 1), b: (0, 0)}


def test_user_misoperation_share_is_not_the_operators(subscribers):
    a, b, _ = subscribers
    # human/user_misoperation 40 % + technical 60 %, 120 min:
    # A 5800×120×60/4.32e6 = 9.67 → 10 fen, 1 GB; B 12800×120×60/4.32e6 = 21.33 → 21 fen
    terms, rows = preview_by_subscriber(incident_for(120, {"human": 40, "technical": 60}))
    assert terms.operator_share == 60
    assert rows == {a: (10, 1), b: (21, 0)}


def test_half_a_fen_rounds_up(app_ctx):
    s = factories.subscriber(fee_fen=4320, services=["fixed_voice"])
    # 4320×45×100/4.32e6 = 4.5 fen exactly → 5 (half-up, not banker's 4)
    _, rows = preview_by_subscriber(incident_for(45, {"technical": 100}))
    assert rows == {s.id: (5, 0)}


def test_data_credit_is_capped(app_ctx):
    s = factories.subscriber(fee_fen=0, services=["broadband"])
    # 3000 min = 12.5 h … ⌈3000/240⌉ = 13 blocks → capped at 10 GB; a zero fee credits 0 fen
    _, rows = preview_by_subscriber(incident_for(3000, {"technical": 100}, services=("broadband",)))
    assert rows == {s.id: (0, 10)}


def test_no_responsibility_yet_previews_service_credit_only(subscribers):
    a, b, _ = subscribers
    terms, rows = preview_by_subscriber(incident_for(180, {}))
    assert terms.operator_share == 0
    assert rows == {a: (0, 1), b: (0, 0)}


def test_overflowing_figures_are_refused_not_turned_into_floats(app_ctx):
    from app.errors import InvalidInput

    factories.subscriber(fee_fen=2**62, services=["fixed_voice"])
    with pytest.raises(InvalidInput):
        engine.preview(incident_for(600, {"technical": 100}))
