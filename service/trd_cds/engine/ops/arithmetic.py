"""CQL arithmetic operators (CQL 1.5 Appendix B, 'Arithmetic Operators').

Each operator picks its implementation once, from the node's result type (Integer, Long,
Decimal, Quantity, Date/DateTime/Time), so that an Integer addition is one Python addition
plus a range check. Overflow and division by zero give null, as the spec says; the
conformance suite's exceptions raise :class:`CqlEvaluationError`: Exp and Ln that reach
infinity, successor/predecessor past the type's range, ``minimum``/``maximum`` of a type
without one, and the negation of an out-of-range literal (``-2147483649``).

Quantities: sums and differences convert to the finer unit, products and quotients combine
units (:mod:`ucum`); Date/DateTime/Time plus or minus a quantity is the temporal module's
calendar arithmetic; a result outside 0001-01-01 .. 9999-12-31 is null (Add and Subtract,
'If the result of the addition cannot be represented (i.e. arithmetic overflow), the result is
null').

Uncertainty (CQL 1.5, 5 Language Semantics, 'Precision-Based Timing: Uncertainty'): an operand
that is only known to lie in [low, high] (a duration between dates of different precision, or
its conversion to Decimal or Quantity) gives the range of every possible result. +, -, * and /
take the least and greatest result over the bounds (exact, as each is monotone in each operand
away from a pole; / by a range holding 0 is null); unary -, Abs, successor, predecessor,
Ceiling, Floor, Truncate, Round, Exp and Ln map the bounds. A bound that overflows makes the
result null, as a definite overflow does. ``div``, ``mod``, ``^`` and Log of an uncertainty
are not defined by the spec (the HL7 suite expects ``div`` of two uncertainties to fail):
they raise :class:`CqlEvaluationError`. The Integer fast paths pay nothing for this: an
Uncertainty is noticed only when Python rejects the operand.
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

from ..datatypes import decimal_math as dm
from ..datatypes import ucum
from ..datatypes import values as v
from ..datatypes.temporal import Date, DateTime, InvalidTemporalValue, Precision, Time
from ..errors import CqlEvaluationError
from ..runtime.context import Context
from ..runtime.registry import (
    Compiler,
    ElmNode,
    Evaluator,
    node,
    operator,
    operator_factory,
    result_type,
)
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
        if any(type(a) is v.Uncertainty for a in args):
            if len(args) == 1:
                return _lift_unary(fn)(args[0])
            return _uncertain(args[0], args[1], fn)
        if all(isinstance(a, int) for a in args):
            return int_fn(*args)
        return dec_fn(*(dm.to_decimal(a) for a in args))

    return fn


def _bounds(x: Any) -> tuple[Any, Any]:
    return (x.low, x.high) if type(x) is v.Uncertainty else (x, x)


def _uncertain(a: Any, b: Any, op: Callable[[Any, Any], Any]) -> Any:
    """A binary operation where an operand is an Uncertainty: the range from the least to
    the greatest result over the combinations of the bounds (exact for +, - and *, and for /
    away from a divisor of 0); null when a bound is null or a result overflows."""
    alo, ahi = _bounds(a)
    blo, bhi = _bounds(b)
    if alo is None or ahi is None or blo is None or bhi is None:
        return None
    return v.uncertainty_span([op(x, y) for x in (alo, ahi) for y in (blo, bhi)])


def _sign(x: Any) -> int | None:
    value = x.value if type(x) is Quantity else x
    if value is None:
        return None
    return int(value > 0) - int(value < 0)


def _lift_unary(fn: Fn, absolute: bool = False) -> Fn:
    """``fn`` of a definite value, or of each bound of an Uncertainty: the range of a
    monotone function lies between its values at the bounds. ``absolute``: Abs, which
    turns at 0, so a range across 0 starts at 0."""

    def lifted(x: Any) -> Any:
        if type(x) is not v.Uncertainty:
            return fn(x)
        lo, hi = x.low, x.high
        if lo is None or hi is None:
            return None
        candidates = [fn(lo), fn(hi)]
        if absolute and _sign(lo) == -1 and _sign(hi) == 1:
            candidates.append(fn(_zero_like(lo)))
        return v.uncertainty_span(candidates)

    return lifted


def _zero_like(x: Any) -> Any:
    if type(x) is Quantity:
        return Quantity(Decimal(0), x.unit)
    return type(x)(0)


def _with_uncertainty(fn: Fn) -> Fn:
    """A Decimal or Quantity binary operator that also takes Uncertainties (one type check
    per call on these paths; the Integer path catches the TypeError instead)."""

    def checked(a: Any, b: Any) -> Any:
        if type(a) is v.Uncertainty or type(b) is v.Uncertainty:
            return _uncertain(a, b, fn)
        return fn(a, b)

    return checked


def _undefined_for_uncertainty(fn: Fn, symbol: str) -> Fn:
    """Operators the spec does not define for uncertainties: a clear error, not a crash."""

    def checked(*args: Any) -> Any:
        if any(type(a) is v.Uncertainty for a in args):
            raise CqlEvaluationError(
                f"'{symbol}' of an uncertain value (a duration between dates of different "
                f"precision) is not defined; CQL defines =, <, >, <=, >=, +, -, * and / for "
                f"uncertainties")
        return fn(*args)

    return checked


def _divisor_spans_zero(b: Any) -> bool:
    if type(b) is not v.Uncertainty:
        return False
    lo, hi = _sign(b.low), _sign(b.high)
    return lo is None or hi is None or (lo <= 0 <= hi)


def _uncertain_divide(fn: Fn) -> Fn:
    def checked(a: Any, b: Any) -> Any:
        if type(b) is v.Uncertainty:
            if _divisor_spans_zero(b):
                return None  # the quotient has no bound
            return _uncertain(a, b, fn)
        if type(a) is v.Uncertainty:
            return _uncertain(a, b, fn)
        return fn(a, b)

    return checked


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


def _temporal(method: Callable[[Any, v.Quantity], Any]) -> Fn:
    """Date/DateTime/Time plus or minus a quantity; null when the result leaves the
    calendar (0001-01-01 .. 9999-12-31), as Add and Subtract say of an overflow."""

    def fn(t: Any, q: v.Quantity) -> Any:
        try:
            return method(t, q)
        except InvalidTemporalValue:
            return None

    return fn


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

        def checked(a: Any, b: Any) -> Any:
            r = op(a, b)
            return r if lo <= r <= hi else None

        def fn(a: Any, b: Any) -> Any:
            try:
                r = op(a, b)
            except TypeError:
                if type(a) is v.Uncertainty or type(b) is v.Uncertainty:
                    return _uncertain(a, b, checked)
                raise
            return r if lo <= r <= hi else None

        return fn

    return make


@operator_factory("Add")
def _add(elm: ElmNode) -> Fn:
    return _choose(elm, _int_binary(py.add), _with_uncertainty(_dec_add),
                   _with_uncertainty(_qty_sum(1)), _temporal(lambda t, q: t.add(q)))


@operator_factory("Subtract")
def _subtract(elm: ElmNode) -> Fn:
    return _choose(elm, _int_binary(py.sub), _with_uncertainty(_dec_sub),
                   _with_uncertainty(_qty_sum(-1)), _temporal(lambda t, q: t.subtract(q)))


@operator_factory("Multiply")
def _multiply(elm: ElmNode) -> Fn:
    return _choose(elm, _int_binary(py.mul), _with_uncertainty(_dec_mul),
                   _with_uncertainty(_qty_mul))


def _int_quotient(a: Any, b: Any) -> Decimal | None:
    return _dec_div(dm.to_decimal(a), dm.to_decimal(b))


@operator_factory("Divide")
def _divide(elm: ElmNode) -> Fn:
    # Divide is always Decimal (or Quantity) division; Integer operands arrive converted.
    kind = _kind(elm)
    if kind == "Quantity":
        return _uncertain_divide(_qty_div)
    if kind == "Decimal":
        return _uncertain_divide(_dec_div)
    return _uncertain_divide(_dynamic(_int_quotient, _dec_div, _qty_div))


def _int_exact(op: Callable[[int, int], int]) -> Callable[[Callable[[int], int | None]], Fn]:
    def make(bound: Callable[[int], int | None]) -> Fn:
        return lambda a, b: None if b == 0 else bound(op(a, b))

    return make


@operator_factory("TruncatedDivide")
def _truncated_divide(elm: ElmNode) -> Fn:
    return _undefined_for_uncertainty(
        _choose(elm, _int_exact(_int_tdiv), _dec_tdiv, _qty_same_unit(_dec_tdiv)), "div")


@operator_factory("Modulo")
def _modulo(elm: ElmNode) -> Fn:
    return _undefined_for_uncertainty(
        _choose(elm, _int_exact(_int_mod), _dec_mod, _qty_same_unit(_dec_mod)), "mod")


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

    return _undefined_for_uncertainty(_choose(elm, ints, _dec_power, None), "^")


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

    return _lift_unary(_choose(elm, ints, decimals, _qty_unary(dm.negate)))


@operator_factory("Abs")
def _abs(elm: ElmNode) -> Fn:
    return _lift_unary(
        _choose(
            elm,
            lambda bound: lambda a: bound(abs(a)),
            lambda a: dm.in_range(dm.absolute(a)),
            _qty_unary(dm.absolute),
        ),
        absolute=True,
    )


def _to_integer(op: Callable[[Decimal], Decimal]) -> Fn:
    """Ceiling/Floor/Truncate: a Decimal to an Integer, null when out of 32-bit range."""

    def fn(x: Decimal | int) -> int | None:
        if isinstance(x, int):
            return dm.int32(x)
        return dm.int32(int(op(x)))

    return _lift_unary(fn)


operator("Ceiling")(_to_integer(lambda x: x.to_integral_value(rounding=ROUND_CEILING)))
operator("Floor")(_to_integer(lambda x: x.to_integral_value(rounding=ROUND_FLOOR)))
operator("Truncate")(_to_integer(dm.truncate))


@node("Round")
def _round(elm: ElmNode, compiler: Compiler) -> Evaluator:
    arg = compiler.compile(elm["operand"])
    precision = compiler.compile_optional(elm.get("precision"))

    def rounded(x: Any, places: int) -> Any:
        if isinstance(x, Quantity):
            if x.value is None:
                return None
            return _quantity(dm.decimal(dm.round_half_up(x.value, places)), x.unit)
        return dm.decimal(dm.round_half_up(dm.to_decimal(x), places))

    def evaluate(ctx: Context) -> Any:
        x = arg(ctx)
        if x is None:
            return None
        places = precision(ctx) or 0  # null precision means 0, as when it is absent
        if type(x) is v.Uncertainty:
            return _lift_unary(lambda b: rounded(b, places))(x)
        return rounded(x, places)

    return evaluate


def _exp(x: Decimal | int) -> Decimal | None:
    try:
        result = dm.decimal(dm.exp(dm.to_decimal(x)))
    except Overflow:
        result = None
    if result is None:
        raise CqlEvaluationError("Exp: the result is too large to represent (positive infinity)")
    return result


def _ln(x: Decimal | int) -> Decimal | None:
    if x < 0:
        return None
    if x == 0:
        raise CqlEvaluationError("Ln(0): the result is negative infinity")
    return dm.decimal(dm.ln(dm.to_decimal(x)))


operator("Exp")(_lift_unary(_exp))
operator("Ln")(_lift_unary(_ln))


def _log(x: Decimal | int, base: Decimal | int) -> Decimal | None:
    if x <= 0 or base <= 0 or base == 1:
        return None
    return dm.decimal(dm.divide(dm.ln(dm.to_decimal(x)), dm.ln(dm.to_decimal(base))))


operator("Log")(_undefined_for_uncertainty(_log, "Log"))


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

        return _lift_unary(ints)
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
