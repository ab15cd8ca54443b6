"""For random fees, durations, shares and policies, the SQL result equals a plain Decimal
reference implementation of RULES §5 to the fen (on SQLite and on PostgreSQL)."""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.policy import current_policy, parse_policy
from tests import factories
from tests.compensation.helpers import incident_for, preview_by_subscriber

CATEGORIES = ("technical", "management", "external", "human")


def reference_economic_fen(fee_fen: int, minutes: int, shares: dict[str, int], breached: bool, rules: dict) -> int:
    """credit = monthly_fee × outage_hours / billing_period_hours × operator_share × multiplier, in Decimal.

    Products first, one division last, so every intermediate is exact and only the final
    quotient is rounded (half-up to the fen).
    """
    if minutes < rules["minimum_outage_minutes"]:
        return 0
    fee = Decimal(fee_fen) / 100                                   # CNY
    share = Decimal(sum(v for c, v in shares.items() if c in rules["operator_categories"])) / 100
    multiplier = rules["breach_multiplier"] if breached else 1
    credit = fee * Decimal(minutes) * share * multiplier / (Decimal(60) * rules["billing_period_hours"])
    return int(credit.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)


def reference_data_gb(minutes: int, rules: dict) -> int:
    if minutes < rules["minimum_outage_minutes"] and rules["data_credit_requires_minimum_outage"]:
        return 0
    blocks = (Decimal(minutes) / (rules["data_credit_block_hours"] * 60)).to_integral_value(rounding=ROUND_CEILING)
    return int(min(rules["data_credit_cap_gb"], blocks * rules["data_credit_gb_per_block"]))


@st.composite
def shares(draw):
    """Percent shares over the four categories summing to 100 (some categories absent)."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=3, max_size=3)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100])]
    return {c: p for c, p in zip(CATEGORIES, parts) if p > 0}


policies = st.fixed_dictionaries({
    "billing_period_hours": st.integers(1, 1000),
    "minimum_outage_minutes": st.integers(0, 120),
    "breach_multiplier": st.integers(1, 5),
    "data_credit_gb_per_block": st.integers(0, 5),
    "data_credit_block_hours": st.integers(1, 24),
    "data_credit_cap_gb": st.integers(0, 50),
    "data_credit_requires_minimum_outage": st.booleans(),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fees=st.lists(st.integers(0, 10_000_000), min_size=1, max_size=6),  # up to 100,000 CNY a month
    minutes=st.integers(0, 60 * 24 * 90),                              # up to 90 days
    level=st.integers(1, 3),
    shares=shares(),
    overrides=policies,
)
def test_sql_equals_decimal_reference(app_ctx, fees, minutes, level, shares, overrides):
    base = current_policy()
    policy = parse_policy({**base.data, "compensation": {**base.compensation, **overrides}})
    rules = policy.compensation
    try:
        # Flushed only: each example's subscribers are rolled back below.
        subscribers = [(factories.subscriber(fee_fen=fee, services=["mobile_data"] if i % 2 else ["fixed_voice"],
                                             commit=False), i % 2 == 1)
                       for i, fee in enumerate(fees)]
        incident = incident_for(minutes, shares, level=level)
        breached = minutes > policy.grade(level)["recover_minutes"]
        terms, rows = preview_by_subscriber(incident, policy)
        assert terms.recovery_window_breached == breached
        expected = {
            s.id: (reference_economic_fen(s.monthly_fee_fen, minutes, shares, breached, rules),
                   reference_data_gb(minutes, rules) if has_data else 0)
            for s, has_data in subscribers
        }
        assert rows == expected
    finally:
        db.session.rollback()
