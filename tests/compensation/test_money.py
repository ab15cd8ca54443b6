"""The one rounding rule and the edge conversions (no database)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.compensation.money import fen_to_yuan, round_half_up_int, yuan_to_fen
from app.errors import InvalidInput


def test_fen_to_yuan():
    assert [fen_to_yuan(v) for v in (0, 5, 70, 100, 12345, -5, -12345)] == [
        "0.00", "0.05", "0.70", "1.00", "123.45", "-0.05", "-123.45"]


def test_yuan_to_fen_accepts_whole_fen_only():
    assert [yuan_to_fen("f", v) for v in ("0.70", "5", "5.0", " 12.34 ", 3)] == [70, 500, 500, 1234, 300]
    for bad in ("1.234", "-0.01", "abc", "NaN", "Infinity", "", "1e30"):
        with pytest.raises(InvalidInput) as caught:
            yuan_to_fen("economic_credit", bad)
        assert caught.value.message.startswith("economic_credit:")


@given(st.integers(0, 10**15), st.integers(1, 10**9))
def test_integer_half_up_equals_decimal_half_up(numerator, denominator):
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert round_half_up_int(numerator, denominator) == int(expected)
