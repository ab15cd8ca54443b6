"""Money: integer fen (分) everywhere inside; Decimal strings ("0.70") only at the API edge.

The ONE rounding rule of the product lives here: half-up to the fen. For non-negative
integers n and d, round_half_up(n / d) == floor((2n + d) / 2d); both SQLite and PostgreSQL
truncate integer division and every operand here is >= 0, so the same SQL gives the same
fen on both databases. SQLite silently turns an overflowing integer into a float, so the
engine checks the largest operand fits in a signed 64-bit integer before it runs
(``check_no_overflow``).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import BigInteger, ColumnElement, literal

from app.errors import InvalidInput

INT64_MAX = 2**63 - 1
FEN = Decimal("0.01")
MAX_AMOUNT_YUAN = Decimal(10**12)  # a trillion CNY: far above any credit, far below BIGINT


def round_half_up_sql(numerator: ColumnElement, denominator: int) -> ColumnElement:
    """round_half_up(numerator / denominator) to an integer, in integer SQL arithmetic.

    ``numerator`` is a non-negative BIGINT expression; ``denominator`` a positive int.
    """
    return (numerator * literal(2, BigInteger) + literal(denominator, BigInteger)) // literal(2 * denominator, BigInteger)


def round_half_up_int(numerator: int, denominator: int) -> int:
    """The same rule in Python, for figures computed outside SQL (and the tests)."""
    return (2 * numerator + denominator) // (2 * denominator)


def check_no_overflow(largest_factor: int, multiplier: int, denominator: int) -> None:
    """Refuse to compute when 2 × largest_factor × multiplier + denominator could overflow BIGINT."""
    if 2 * largest_factor * multiplier + denominator > INT64_MAX:
        raise InvalidInput("monthly_fee", "金额超出可精确计算的范围 (figures too large to compute exactly in 64-bit integers)")


def fen_to_yuan(fen: int) -> str:
    """70 → "0.70"; the API's decimal string for CNY."""
    if fen < 0:
        return "-" + fen_to_yuan(-fen)
    yuan, cents = divmod(fen, 100)
    return f"{yuan}.{cents:02d}"


def yuan_to_fen(field: str, value: str | int | Decimal) -> int:
    """"1.20" → 120; refuses negatives, more than two decimals and non-numbers (422 naming ``field``)."""
    not_an_amount = "须为金额，如 \"12.50\" (must be a decimal amount such as \"12.50\")"
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(field, not_an_amount) from None
    if not amount.is_finite():
        raise InvalidInput(field, not_an_amount)
    if amount < 0:
        raise InvalidInput(field, "金额不能为负 (must be a non-negative amount)")
    if amount > MAX_AMOUNT_YUAN:
        raise InvalidInput(field, "金额过大 (amount too large)")
    if amount != amount.quantize(FEN, rounding=ROUND_HALF_UP):
        raise InvalidInput(field, "金额最多两位小数 (at most two decimal places, i.e. whole fen)")
    return int(amount * 100)
