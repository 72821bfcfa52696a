"""CQL number limits and Decimal arithmetic (CQL 1.5, 'Integer', 'Long', 'Decimal').

CQL Integer is a signed 32-bit and Long a signed 64-bit integer; a Decimal keeps at most 8
digits after the point and, as the conformance suite reads the spec, 28 before it. Python
ints and Decimals are unbounded, so every arithmetic result goes through :func:`int32`,
:func:`int64`, :func:`decimal` or :func:`in_range`, which return ``None`` when the value
cannot be represented (the spec's 'the result is null').

Intermediate results are computed in a context wider than 28 digits so that the final
rounding to 8 places happens once, on the exact (or nearly exact) value.
"""

from __future__ import annotations

from decimal import (
    ROUND_DOWN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

DECIMAL_SCALE = 8
# What `maximum Decimal` / `minimum Decimal` return (the spec's (10^28 - 1) / 10^8) ...
DECIMAL_MAX = Decimal("99999999999999999999.99999999")
DECIMAL_MIN = Decimal("-99999999999999999999.99999999")
# ... while results overflow only past 28 integer digits: the conformance suite takes
# 10 * 10^27 - 10^-8 as a valid Decimal and 10^28 as an invalid one.
# (Written out: unary minus would round in the default 28-digit context.)
DECIMAL_LIMIT = Decimal("9999999999999999999999999999.99999999")
NEGATIVE_LIMIT = Decimal("-9999999999999999999999999999.99999999")
# The smallest step of a CQL Decimal: successor/predecessor and boundaries use it.
DECIMAL_STEP = Decimal("1E-8")

# Wide enough for exact products of two in-range Decimals (2 x 28 digits) and for the
# transcendental functions to be correct at the 8th decimal place.
CTX = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])

_QUANTUM = Decimal("1E-8")


def int32(value: int) -> int | None:
    """The value as a CQL Integer, or None when it overflows 32 bits."""
    return value if INT32_MIN <= value <= INT32_MAX else None


def int64(value: int) -> int | None:
    """The value as a CQL Long, or None when it overflows 64 bits."""
    return value if INT64_MIN <= value <= INT64_MAX else None


def decimal(value: Decimal) -> Decimal | None:
    """The value as a CQL Decimal: at most 8 places (half rounds away from zero), None when
    it is out of range or not finite. Trailing zeros within 8 places are kept, because
    ``Precision`` reads them."""
    if not value.is_finite():
        return None
    if value.as_tuple().exponent < -DECIMAL_SCALE:  # type: ignore[operator]
        value = value.quantize(_QUANTUM, rounding=ROUND_HALF_UP, context=CTX)
    if value > DECIMAL_LIMIT or value < NEGATIVE_LIMIT:
        return None
    return value


def in_range(value: Decimal) -> Decimal | None:
    """:func:`decimal` for results that cannot gain decimal places (sums and differences of
    CQL Decimals): the range check alone, which costs a fraction of the rounding check."""
    return value if NEGATIVE_LIMIT <= value <= DECIMAL_LIMIT else None


def to_decimal(value: int | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def truncate(value: Decimal) -> Decimal:
    """The integer part, toward zero."""
    return value.to_integral_value(rounding=ROUND_DOWN, context=CTX)


def round_half_up(value: Decimal, places: int) -> Decimal:
    """CQL Round: to ``places`` decimal places, halves away from zero (0.5 → 1, -0.5 → -1)."""
    places = min(places, DECIMAL_SCALE)
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=CTX)


def scale(value: Decimal) -> int:
    """Digits after the decimal point as written (1.58700 → 5, 12 → 0)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def exp(value: Decimal) -> Decimal:
    """e ** value; raises decimal.Overflow when the result cannot be represented."""
    return value.exp(CTX)


def ln(value: Decimal) -> Decimal:
    """Natural logarithm; raises InvalidOperation below zero and returns -Infinity at zero."""
    return value.ln(CTX)


def power(base: Decimal, exponent: Decimal) -> Decimal:
    """base ** exponent; raises InvalidOperation/DivisionByZero when undefined."""
    return CTX.power(base, exponent)


def divide(left: Decimal, right: Decimal) -> Decimal:
    return CTX.divide(left, right)


def multiply(left: Decimal, right: Decimal) -> Decimal:
    return CTX.multiply(left, right)


def add(left: Decimal, right: Decimal) -> Decimal:
    return CTX.add(left, right)


def subtract(left: Decimal, right: Decimal) -> Decimal:
    return CTX.subtract(left, right)


def negate(value: Decimal) -> Decimal:
    return CTX.minus(value)


def absolute(value: Decimal) -> Decimal:
    return CTX.abs(value)


def remainder(left: Decimal, right: Decimal) -> Decimal:
    """Truncated-division remainder: its sign follows the dividend, as in CQL ``mod``."""
    return CTX.remainder(left, right)
