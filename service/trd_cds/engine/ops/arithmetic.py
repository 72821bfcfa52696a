"""CQL arithmetic operators (CQL 1.5 Appendix B, 'Arithmetic Operators').

Each operator picks its implementation once, from the node's result type (Integer, Long,
Decimal, Quantity, Date/DateTime/Time), so that an Integer addition is one Python addition
plus a range check. Overflow and division by zero give null, as the spec says; the
conformance suite's exceptions raise :class:`CqlEvaluationError`: Exp and Ln that reach
infinity, successor/predecessor past the type's range, ``minimum``/``maximum`` of a type
without one, and the negation of an out-of-range literal (``-2147483649``).

Quantities: sums and differences convert to the finer unit, products and quotients combine
units (:mod:`ucum`); Date/DateTime/Time plus or minus a quantity is the temporal module's
calendar arithmetic. Integer operations also accept an Uncertainty (a duration between
dates of different precision) and return the range of possible results.
"""

from __future__ import annotations

import calendar
import operator as py
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

from .. import decimal_math as dm
from .. import ucum
from .. import values as v
from ..context import Context
from ..errors import CqlEvaluationError
from ..registry import Compiler, ElmNode, Evaluator, node, operator, operator_factory, result_type
from ..temporal import Date, DateTime, Precision, Time
from .operand_types import first_operand_type

Fn = Callable[..., Any]
Quantity = v.Quantity

_TEMPORAL = ("Date", "DateTime", "Time")


def _bounded(elm: ElmNode) -> Callable[[int], int | None]:
    """The range check for the node's integer result type (Long: 64-bit, else 32-bit)."""
    return dm.int64 if result_type(elm) == "Long" else dm.int32


def _kind(elm: ElmNode) -> str | None:
    kind = result_type(elm)
    if kind in ("Integer", "Long", "Decimal", "Quantity", *_TEMPORAL):
        return kind
    return None


def _dynamic(int_fn: Fn, dec_fn: Fn, qty_fn: Fn | None, tmp_fn: Fn | None = None) -> Fn:
    """Dispatch on the values when the ELM carries no usable result type."""

    def fn(*args: Any) -> Any:
        first = args[0]
        if isinstance(first, Date | DateTime | Time):  # temporal +/- a time quantity
            return None if tmp_fn is None else tmp_fn(*args)
        if any(isinstance(a, Quantity) for a in args):
            if qty_fn is None:
                return None
            return qty_fn(*(_as_quantity(a) for a in args))
        if all(isinstance(a, int | v.Uncertainty) for a in args):
            return int_fn(*args)
        return dec_fn(*(dm.to_decimal(a) for a in args))

    return fn


def _bounds(x: Any) -> tuple[Any, Any]:
    return (x.low, x.high) if isinstance(x, v.Uncertainty) else (x, x)


def _uncertain(a: Any, b: Any, op: Callable[[Any, Any], Any]) -> Any:
    """An Integer operation where an operand is an Uncertainty (e.g. months between two
    dates of different precision): the result spans every combination of the bounds."""
    alo, ahi = _bounds(a)
    blo, bhi = _bounds(b)
    if None in (alo, ahi, blo, bhi):
        return None
    candidates = [op(x, y) for x in (alo, ahi) for y in (blo, bhi)]
    low, high = min(candidates), max(candidates)
    return low if low == high else v.Uncertainty(low, high)


def _choose(
    elm: ElmNode,
    int_fn: Callable[[Callable[[int], int | None]], Fn],
    dec_fn: Fn,
    qty_fn: Fn | None,
    tmp_fn: Fn | None = None,
) -> Fn:
    kind = _kind(elm)
    if kind in ("Integer", "Long"):
        return int_fn(_bounded(elm))
    if kind == "Decimal":
        return dec_fn
    if kind == "Quantity" and qty_fn is not None:
        return qty_fn
    if kind in _TEMPORAL and tmp_fn is not None:
        return tmp_fn
    return _dynamic(int_fn(dm.int64), dec_fn, qty_fn, tmp_fn)


def _as_quantity(x: Any) -> v.Quantity:
    return x if isinstance(x, Quantity) else Quantity(dm.to_decimal(x), "1")


def _quantity(value: Decimal | None, unit: str) -> v.Quantity | None:
    return None if value is None else Quantity(value, unit)


# --- Decimal helpers -----------------------------------------------------------------------


def _dec_add(a: Decimal, b: Decimal) -> Decimal | None:
    return dm.in_range(dm.add(a, b))


def _dec_sub(a: Decimal, b: Decimal) -> Decimal | None:
    return dm.in_range(dm.subtract(a, b))


def _dec_mul(a: Decimal, b: Decimal) -> Decimal | None:
    return dm.decimal(dm.multiply(a, b))


def _dec_div(a: Decimal, b: Decimal) -> Decimal | None:
    if not b:
        return None
    return dm.decimal(dm.divide(a, b))


def _dec_tdiv(a: Decimal, b: Decimal) -> Decimal | None:
    if not b:
        return None
    return dm.decimal(dm.truncate(dm.divide(a, b)))


def _dec_mod(a: Decimal, b: Decimal) -> Decimal | None:
    if not b:
        return None
    return dm.decimal(dm.remainder(a, b))


# --- Integer helpers -----------------------------------------------------------------------


def _int_tdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _int_mod(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


# --- Quantity helpers ----------------------------------------------------------------------


def _finer_unit(a: v.Quantity, b: v.Quantity) -> str:
    """The more granular of two comparable units (the unit of a sum, per the spec)."""
    one_a_in_b = ucum.convert(1, a.unit, b.unit)
    return b.unit if one_a_in_b is not None and abs(one_a_in_b) > 1 else a.unit


def _in_unit(q: v.Quantity, unit: str) -> Decimal | None:
    if q.value is None:
        return None
    return q.value if q.unit == unit else ucum.convert(q.value, q.unit, unit)


def _qty_sum(sign: int) -> Fn:
    def fn(a: v.Quantity, b: v.Quantity) -> v.Quantity | None:
        unit = a.unit if a.unit == b.unit else _finer_unit(a, b)
        x = _in_unit(a, unit)
        y = _in_unit(b, unit)
        if x is None or y is None:
            return None
        return _quantity(_dec_add(x, y) if sign > 0 else _dec_sub(x, y), unit)

    return fn


def _qty_mul(a: v.Quantity, b: v.Quantity) -> v.Quantity | None:
    if a.value is None or b.value is None:
        return None
    return _quantity(_dec_mul(a.value, b.value), ucum.multiply_units(a.unit, b.unit))


def _qty_div(a: v.Quantity, b: v.Quantity) -> v.Quantity | None:
    if a.value is None or b.value is None:
        return None
    if a.unit != b.unit and ucum.comparable(a.unit, b.unit):
        # Same dimension: the quotient is a plain number (unit '1').
        y = _in_unit(b, a.unit)
        return None if y is None else _quantity(_dec_div(a.value, y), "1")
    return _quantity(_dec_div(a.value, b.value), ucum.divide_units(a.unit, b.unit))


def _qty_same_unit(op: Callable[[Decimal, Decimal], Decimal | None]) -> Fn:
    """div and mod of quantities: the divisor is expressed in the dividend's unit and the
    result keeps that unit (as the conformance suite expects: 10 'g' div 5 'g' = 2 'g')."""

    def fn(a: v.Quantity, b: v.Quantity) -> v.Quantity | None:
        if a.value is None:
            return None
        y = _in_unit(b, a.unit)
        return None if y is None else _quantity(op(a.value, y), a.unit)

    return fn


def _qty_unary(op: Callable[[Decimal], Decimal | None]) -> Fn:
    def fn(q: v.Quantity) -> v.Quantity | None:
        return None if q.value is None else _quantity(op(q.value), q.unit)

    return fn


# --- binary operators ----------------------------------------------------------------------


_LIMITS: dict[Callable[[int], int | None], tuple[int, int]] = {
    dm.int32: (dm.INT32_MIN, dm.INT32_MAX),
    dm.int64: (dm.INT64_MIN, dm.INT64_MAX),
}


def _int_binary(op: Callable[[Any, Any], Any]) -> Callable[[Callable[[int], int | None]], Fn]:
    """+, - and * of Integers/Longs as one Python function (this is the hot path): the
    range check inline, and the Uncertainty case only when the operator rejects a value."""

    def make(bound: Callable[[int], int | None]) -> Fn:
        lo, hi = _LIMITS[bound]

        def fn(a: Any, b: Any) -> Any:
            try:
                r = op(a, b)
            except TypeError:
                if isinstance(a, v.Uncertainty) or isinstance(b, v.Uncertainty):
                    return _uncertain(a, b, op)
                raise
            return r if lo <= r <= hi else None

        return fn

    return make


@operator_factory("Add")
def _add(elm: ElmNode) -> Fn:
    return _choose(elm, _int_binary(py.add), _dec_add, _qty_sum(1), lambda t, q: t.add(q))


@operator_factory("Subtract")
def _subtract(elm: ElmNode) -> Fn:
    return _choose(elm, _int_binary(py.sub), _dec_sub, _qty_sum(-1), lambda t, q: t.subtract(q))


@operator_factory("Multiply")
def _multiply(elm: ElmNode) -> Fn:
    return _choose(elm, _int_binary(py.mul), _dec_mul, _qty_mul)


@operator_factory("Divide")
def _divide(elm: ElmNode) -> Fn:
    # Divide is always Decimal (or Quantity) division; Integer operands arrive converted.
    kind = _kind(elm)
    if kind == "Quantity":
        return _qty_div
    if kind == "Decimal":
        return _dec_div
    return _dynamic(lambda a, b: _dec_div(Decimal(a), Decimal(b)), _dec_div, _qty_div)


@operator_factory("TruncatedDivide")
def _truncated_divide(elm: ElmNode) -> Fn:
    def ints(bound: Callable[[int], int | None]) -> Fn:
        return lambda a, b: None if b == 0 else bound(_int_tdiv(a, b))

    return _choose(elm, ints, _dec_tdiv, _qty_same_unit(_dec_tdiv))


@operator_factory("Modulo")
def _modulo(elm: ElmNode) -> Fn:
    def ints(bound: Callable[[int], int | None]) -> Fn:
        return lambda a, b: None if b == 0 else bound(_int_mod(a, b))

    return _choose(elm, ints, _dec_mod, _qty_same_unit(_dec_mod))


def _dec_power(a: Decimal, b: Decimal) -> Decimal | None:
    try:
        return dm.decimal(dm.power(a, b))
    except (InvalidOperation, DivisionByZero, Overflow):
        return None


@operator_factory("Power")
def _power(elm: ElmNode) -> Fn:
    def ints(bound: Callable[[int], int | None]) -> Fn:
        def fn(a: int, b: int) -> int | Decimal | None:
            if b < 0:
                # A negative exponent leaves the integers: 2^-2 is 0.25 (the suite expects
                # the Decimal even though the translator types the node Integer).
                return None if a == 0 else _dec_power(Decimal(a), Decimal(b))
            if abs(a) > 1 and b > 64:
                return None  # certainly past 64 bits; avoid computing a huge power
            return bound(a**b)

        return fn

    return _choose(elm, ints, _dec_power, None)


# --- unary operators -----------------------------------------------------------------------


def _negated(a: Any, result: Any, in_range: Callable[[Any], Any]) -> Any:
    """Negation overflows to null (-(minimum Integer)), but an operand that is itself out of
    range is an invalid literal such as -2147483649, which the translator leaves to us as
    Negate(2147483649); the suite expects an error for those."""
    if result is None and in_range(a) is None:
        raise CqlEvaluationError(f"the literal {a} is outside the range of its type")
    return result


@operator_factory("Negate")
def _negate(elm: ElmNode) -> Fn:
    def ints(bound: Callable[[int], int | None]) -> Fn:
        def fn(a: int) -> int | None:
            result = bound(-a)
            return result if result is not None else _negated(a, result, bound)

        return fn

    def decimals(a: Decimal) -> Decimal | None:
        result = dm.in_range(dm.negate(a))
        return result if result is not None else _negated(a, result, dm.in_range)

    return _choose(elm, ints, decimals, _qty_unary(dm.negate))


@operator_factory("Abs")
def _abs(elm: ElmNode) -> Fn:
    return _choose(
        elm,
        lambda bound: lambda a: bound(abs(a)),
        lambda a: dm.in_range(dm.absolute(a)),
        _qty_unary(dm.absolute),
    )


def _to_integer(op: Callable[[Decimal], Decimal]) -> Fn:
    """Ceiling/Floor/Truncate: a Decimal to an Integer, null when out of 32-bit range."""

    def fn(x: Decimal | int) -> int | None:
        if isinstance(x, int):
            return dm.int32(x)
        return dm.int32(int(op(x)))

    return fn


operator("Ceiling")(_to_integer(lambda x: x.to_integral_value(rounding=ROUND_CEILING)))
operator("Floor")(_to_integer(lambda x: x.to_integral_value(rounding=ROUND_FLOOR)))
operator("Truncate")(_to_integer(dm.truncate))


@node("Round")
def _round(elm: ElmNode, compiler: Compiler) -> Evaluator:
    arg = compiler.compile(elm["operand"])
    precision = compiler.compile_optional(elm.get("precision"))

    def evaluate(ctx: Context) -> Any:
        x = arg(ctx)
        if x is None:
            return None
        places = precision(ctx) or 0  # null precision means 0, as when it is absent
        if isinstance(x, Quantity):
            if x.value is None:
                return None
            return _quantity(dm.decimal(dm.round_half_up(x.value, places)), x.unit)
        return dm.decimal(dm.round_half_up(dm.to_decimal(x), places))

    return evaluate


@operator("Exp")
def _exp(x: Decimal | int) -> Decimal | None:
    try:
        result = dm.decimal(dm.exp(dm.to_decimal(x)))
    except Overflow:
        result = None
    if result is None:
        raise CqlEvaluationError("Exp: the result is too large to represent (positive infinity)")
    return result


@operator("Ln")
def _ln(x: Decimal | int) -> Decimal | None:
    if x < 0:
        return None
    if x == 0:
        raise CqlEvaluationError("Ln(0): the result is negative infinity")
    return dm.decimal(dm.ln(dm.to_decimal(x)))


@operator("Log")
def _log(x: Decimal | int, base: Decimal | int) -> Decimal | None:
    if x <= 0 or base <= 0 or base == 1:
        return None
    return dm.decimal(dm.divide(dm.ln(dm.to_decimal(x)), dm.ln(dm.to_decimal(base))))


# --- successor, predecessor, minimum, maximum --------------------------------------------


def _step(elm: ElmNode, delta: int, name: str) -> Fn:
    kind = result_type(elm) or first_operand_type(elm)
    if kind in ("Integer", "Long"):
        bound = dm.int64 if kind == "Long" else dm.int32

        def ints(x: int) -> int:
            result = bound(x + delta)
            if result is None:
                raise CqlEvaluationError(f"{name}: the result is outside the range of {kind}")
            return result

        return ints
    return v.successor if delta > 0 else v.predecessor


@operator_factory("Successor")
def _successor(elm: ElmNode) -> Fn:
    return _step(elm, 1, "successor")


@operator_factory("Predecessor")
def _predecessor(elm: ElmNode) -> Fn:
    return _step(elm, -1, "predecessor")


def _limit(type_name: str, maximum: bool) -> Any:
    if type_name == "Integer":
        return dm.INT32_MAX if maximum else dm.INT32_MIN
    if type_name == "Long":
        return dm.INT64_MAX if maximum else dm.INT64_MIN
    if type_name == "Decimal":
        return dm.DECIMAL_MAX if maximum else dm.DECIMAL_MIN
    if type_name == "Quantity":
        return Quantity(dm.DECIMAL_MAX if maximum else dm.DECIMAL_MIN, "1")
    if type_name == "Date":
        return Date(9999, 12, 31) if maximum else Date(1, 1, 1)
    if type_name == "DateTime":
        # The spec lets implementations pin the extreme DateTimes to UTC; the suite does.
        if maximum:
            return DateTime(9999, 12, 31, 23, 59, 59, 999, Decimal(0))
        return DateTime(1, 1, 1, 0, 0, 0, 0, Decimal(0))
    if type_name == "Time":
        return Time(23, 59, 59, 999) if maximum else Time(0, 0, 0, 0)
    return None


def _min_max(maximum: bool) -> Callable[[ElmNode, Compiler], Evaluator]:
    def compile_fn(elm: ElmNode, compiler: Compiler) -> Evaluator:
        type_name = str(elm.get("valueType", "")).rsplit("}", 1)[-1]
        word = "maximum" if maximum else "minimum"
        if type_name not in ("Integer", "Long", "Decimal", "Quantity", *_TEMPORAL):
            message = f"{word} is not defined for type {type_name or '(unknown)'}"

            def error(ctx: Context) -> Any:
                # An error when evaluated, not when compiled: one bad define must not stop
                # the rest of its library from loading.
                raise CqlEvaluationError(message, locator=elm.get("locator"))

            return error
        value = _limit(type_name, maximum)
        return lambda ctx: value

    return compile_fn


node("MaxValue")(_min_max(True))
node("MinValue")(_min_max(False))


# --- precision and boundaries --------------------------------------------------------------

# Digits of precision of each temporal precision (Precision(@2014-01-05T10:30) is 12).
_DATE_DIGITS = {
    Precision.YEAR: 4,
    Precision.MONTH: 6,
    Precision.DAY: 8,
    Precision.HOUR: 10,
    Precision.MINUTE: 12,
    Precision.SECOND: 14,
    Precision.MILLISECOND: 17,
}
_TIME_DIGITS = {
    Precision.HOUR: 2,
    Precision.MINUTE: 4,
    Precision.SECOND: 6,
    Precision.MILLISECOND: 9,
}


@operator("Precision")
def _precision(x: Any) -> int | None:
    if isinstance(x, Decimal):
        return dm.scale(x)
    if isinstance(x, Time):
        return _TIME_DIGITS[x.precision]
    if isinstance(x, Date | DateTime):
        return _DATE_DIGITS[x.precision]
    if isinstance(x, int):
        return 0
    return None


def _digits_to_precision(digits: int, table: dict[Precision, int]) -> Precision:
    """The coarsest precision that shows at least ``digits`` digits."""
    for p, n in table.items():
        if digits <= n:
            return p
    return max(table)


def _decimal_boundary(x: Decimal, digits: int, high: bool) -> Decimal | None:
    if digits < 0 or digits > dm.DECIMAL_SCALE:
        return None
    # 1.587 stands for every value in [1.587, 1.58799999]; for -1.587 the range is mirrored.
    pad = Decimal(1).scaleb(-dm.scale(x)) - Decimal(1).scaleb(-dm.DECIMAL_SCALE)
    upward = high == (x >= 0)
    widest = dm.add(x, pad if x >= 0 else dm.negate(pad)) if upward and pad > 0 else x
    return widest.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)


_MAX_COMPONENT = {
    Precision.MONTH: 12,
    Precision.HOUR: 23,
    Precision.MINUTE: 59,
    Precision.SECOND: 59,
    Precision.MILLISECOND: 999,
}
_MIN_COMPONENT = {
    Precision.MONTH: 1,
    Precision.DAY: 1,
    Precision.HOUR: 0,
    Precision.MINUTE: 0,
    Precision.SECOND: 0,
    Precision.MILLISECOND: 0,
}


def _fill(
    x: Date | DateTime | Time, order: list[Precision], target: Precision, high: bool
) -> list[int | None]:
    """Components of x down to ``target``, the missing ones filled with their extreme."""
    out: list[int | None] = []
    for p in order:
        if p > target:
            out.append(None)
            continue
        value = getattr(x, p.name.lower())
        if value is None:
            if not high:
                value = _MIN_COMPONENT[p]
            elif p == Precision.DAY:
                year, month = out[0], out[1]
                assert year is not None and month is not None
                value = calendar.monthrange(year, month)[1]
            else:
                value = _MAX_COMPONENT[p]
        out.append(value)
    return out


_DATE_ORDER = [Precision.YEAR, Precision.MONTH, Precision.DAY]
_DATETIME_ORDER = [
    *_DATE_ORDER,
    Precision.HOUR,
    Precision.MINUTE,
    Precision.SECOND,
    Precision.MILLISECOND,
]
_TIME_ORDER = [Precision.HOUR, Precision.MINUTE, Precision.SECOND, Precision.MILLISECOND]


def _boundary(high: bool) -> Fn:
    def fn(x: Any, digits: int | None) -> Any:
        if x is None:
            return None
        if isinstance(x, Decimal):
            return _decimal_boundary(x, dm.DECIMAL_SCALE if digits is None else digits, high)
        if isinstance(x, Time):
            if digits is not None and digits > 9:
                return None
            target = _digits_to_precision(9 if digits is None else digits, _TIME_DIGITS)
            return Time(*_fill(x, _TIME_ORDER, target, high))  # type: ignore[arg-type]
        if isinstance(x, DateTime):
            if digits is not None and digits > 17:
                return None
            target = _digits_to_precision(17 if digits is None else digits, _DATE_DIGITS)
            year, month, day, hour, minute, second, ms = _fill(x, _DATETIME_ORDER, target, high)
            assert year is not None
            return DateTime(year, month, day, hour, minute, second, ms, getattr(x, "offset", None))
        if isinstance(x, Date):
            if digits is not None and digits > 8:
                return None
            target = _digits_to_precision(8 if digits is None else digits, _DATE_DIGITS)
            return Date(*_fill(x, _DATE_ORDER, target, high))  # type: ignore[arg-type]
        return None

    return fn


operator("LowBoundary", propagate_null=False)(_boundary(False))
operator("HighBoundary", propagate_null=False)(_boundary(True))
