"""The generic semantics of CQL values, and the value classes other than the temporal ones.

Python representation of CQL values (the contract every engine module codes against):

=============  =====================================================================
CQL            Python
=============  =====================================================================
null           ``None``
Boolean        ``bool``
Integer, Long  ``int`` (the ELM result type tells them apart where it matters)
Decimal        ``decimal.Decimal``, at most 8 decimal places
String         ``str``
Date/DateTime  ``temporal.Date`` / ``temporal.DateTime`` / ``temporal.Time``
Quantity       :class:`Quantity`
Ratio          :class:`Ratio`
Code/Concept   :class:`Code` / :class:`Concept`
Tuple          :class:`CqlTuple`
List           ``list``
Interval       :class:`Interval`
Uncertainty    :class:`Uncertainty` (an imprecise Integer, e.g. a duration at mixed precision)
FHIR data      plain JSON ``dict`` (resources, elements) or values the FHIR provider wraps
=============  =====================================================================

Temporal classes take part in :func:`equal`, :func:`equivalent` and :func:`compare` through
the methods ``_cql_equal``, ``_cql_equivalent`` and ``_cql_compare``.

Beyond the three comparisons this module offers what operators share: :func:`compare_at`
(at a temporal precision), :func:`successor`/:func:`predecessor`, :func:`min_value`/
:func:`max_value`, :func:`truncate` (a temporal value cut to a precision), the closed points
of an interval (:func:`interval_start`, :func:`interval_end`), and Uncertainty helpers
(:func:`uncertainty_bounds`, :func:`make_uncertainty`, :func:`uncertainty_span`,
:func:`uncertainty_order`; arithmetic on them lives with the operators).
The classes are defined in :mod:`structured` and re-exported here.
Quantities with different units are compared through :mod:`ucum`; quantities whose units
cannot be compared are neither equal nor unequal (null).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from ..errors import CqlEvaluationError
from . import temporal, ucum
from .structured import (
    Code as Code,
)
from .structured import (
    Concept as Concept,
)
from .structured import (
    CqlTuple as CqlTuple,
)
from .structured import (
    Interval as Interval,
)
from .structured import (
    Quantity as Quantity,
)
from .structured import (
    Ratio as Ratio,
)
from .structured import (
    Uncertainty as Uncertainty,
)

# --- limits (CQL 1.5, 'Types': minimum and maximum values) -------------------------------

INTEGER_MIN = -(2**31)
INTEGER_MAX = 2**31 - 1
LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1
DECIMAL_STEP = Decimal("0.00000001")
DECIMAL_MAX = Decimal("99999999999999999999.99999999")
DECIMAL_MIN = -DECIMAL_MAX

# Component tuples (year, month, day, hour, minute, second, millisecond) of the extremes.
_DATETIME_MAX = (9999, 12, 31, 23, 59, 59, 999)
_DATETIME_MIN = (1, 1, 1, 0, 0, 0, 0)
_TIME_MAX = (23, 59, 59, 999)
_TIME_MIN = (0, 0, 0, 0)
_TIME_RADIX = (24, 60, 60, 1000)
_DATE_FIELDS = ("year", "month", "day")
_DATETIME_FIELDS = ("year", "month", "day", "hour", "minute", "second", "millisecond")
_TIME_FIELDS = ("hour", "minute", "second", "millisecond")


def _short(type_name: str) -> str:
    return type_name.rsplit("}", 1)[-1].rsplit(".", 1)[-1]


def min_value(type_name: str, unit: str = "1") -> Any:
    """The spec's minimum value of a point type ('Integer', '{urn:…}Date', 'System.Time')."""
    name = _short(type_name)
    if name == "Integer":
        return INTEGER_MIN
    if name == "Long":
        return LONG_MIN
    if name == "Decimal":
        return DECIMAL_MIN
    if name == "Quantity":
        return Quantity(DECIMAL_MIN, unit)
    if name == "Date":
        return temporal.Date(1, 1, 1)
    if name == "DateTime":
        # Pinned to UTC, like the MinValue operator (the HL7 suite expects that).
        return temporal.DateTime(*_DATETIME_MIN, offset=Decimal(0))
    if name == "Time":
        return temporal.Time(*_TIME_MIN)
    raise CqlEvaluationError(f"minimum value is not defined for type {type_name}")


def max_value(type_name: str, unit: str = "1") -> Any:
    """The spec's maximum value of a point type."""
    name = _short(type_name)
    if name == "Integer":
        return INTEGER_MAX
    if name == "Long":
        return LONG_MAX
    if name == "Decimal":
        return DECIMAL_MAX
    if name == "Quantity":
        return Quantity(DECIMAL_MAX, unit)
    if name == "Date":
        return temporal.Date(9999, 12, 31)
    if name == "DateTime":
        return temporal.DateTime(*_DATETIME_MAX, offset=Decimal(0))
    if name == "Time":
        return temporal.Time(*_TIME_MAX)
    raise CqlEvaluationError(f"maximum value is not defined for type {type_name}")


def type_name_of(x: Any) -> str | None:
    """The CQL System type name of a point value (None for null or unknown values)."""
    t = type(x)
    if t is int:
        return "Integer"
    if t is Decimal:
        return "Decimal"
    if t is Quantity:
        return "Quantity"
    if t is str:
        return "String"
    if t is bool:
        return "Boolean"
    name = t.__name__
    if name in ("Date", "DateTime", "Time"):
        return name
    return None


# --- three-valued helpers ----------------------------------------------------------------


def _and3(acc: bool | None, r: bool | None) -> bool | None:
    if acc is False or r is False:
        return False
    if acc is None or r is None:
        return None
    return True


def _is_temporal(x: Any) -> bool:
    return hasattr(x, "_cql_compare")


# --- equality -----------------------------------------------------------------------------


def equal(a: Any, b: Any) -> bool | None:
    """CQL ``=``: null when either side is null or the answer is uncertain."""
    if a is None or b is None:
        return None
    ta = type(a)
    tb = type(b)
    if ta is int or ta is Decimal:
        if tb is int or tb is Decimal:
            return bool(a == b)
        if tb is Uncertainty:
            return _uncertainty_equal(b, a)
        return False
    if ta is str or ta is bool:
        return tb is ta and a == b
    if ta is Quantity:
        return _quantity_equal(a, b) if tb is Quantity else False
    cql_equal = getattr(a, "_cql_equal", None)
    if cql_equal is not None:
        return cql_equal(b)  # type: ignore[no-any-return]
    if ta is list:
        return _elementwise_equal(a, b) if tb is list else False
    if ta is Interval:
        return _interval_equal(a, b) if tb is Interval else False
    if ta is CqlTuple:
        return _tuple_equal(a, b) if tb is CqlTuple else False
    if ta is Code:
        if tb is not Code:
            return False
        return _fields_equal(
            (a.code, a.system, a.version, a.display), (b.code, b.system, b.version, b.display)
        )
    if ta is Concept:
        if tb is not Concept:
            return False
        return _and3(
            _elementwise_equal(list(a.codes), list(b.codes)),
            _fields_equal((a.display,), (b.display,)),
        )
    if ta is Ratio:
        if tb is not Ratio:
            return False
        return _and3(equal(a.numerator, b.numerator), equal(a.denominator, b.denominator))
    if ta is Uncertainty:
        return _uncertainty_equal(a, b)
    return bool(a == b)


def _fields_equal(xs: tuple[Any, ...], ys: tuple[Any, ...]) -> bool | None:
    """Tuple semantics: elements null on both sides are equal, null on one side unknown."""
    result: bool | None = True
    for x, y in zip(xs, ys, strict=True):
        if x is None and y is None:
            continue
        r = equal(x, y)
        if r is False:
            return False
        if r is None:
            result = None
    return result


def _elementwise_equal(a: list[Any], b: list[Any]) -> bool | None:
    if len(a) != len(b):
        return False
    return _fields_equal(tuple(a), tuple(b))


def _tuple_equal(a: CqlTuple, b: CqlTuple) -> bool | None:
    """Element by element in order; the first element that is not equal decides (the HL7
    suite: ``{Id: null, Name: 'John'} = {Id: 1, Name: 'James'}`` is null, while
    ``{Id: 1, Name: 'John'} = {Id: 2, Name: null}`` is false)."""
    keys = list(a)
    keys.extend(k for k in b if k not in a)
    for k in keys:
        x, y = a.get(k), b.get(k)
        if x is None and y is None:
            continue
        r = equal(x, y)
        if r is not True:
            return r
    return True


def _quantity_equal(a: Quantity, b: Quantity) -> bool | None:
    if a.value is None or b.value is None:
        return None
    if a.unit == b.unit:
        return a.value == b.value
    r = _quantity_compare(a, b)
    return None if r is None else r == 0


# --- intervals: bounds as closed points ----------------------------------------------------


def interval_point_type(iv: Interval) -> str | None:
    """The short point type name of an interval ('Integer', 'DateTime' …) when known."""
    if iv.point_type:
        return _short(iv.point_type)
    return type_name_of(iv.low if iv.low is not None else iv.high)


_BOUNDED_TYPES = frozenset({"Integer", "Long", "Decimal", "Quantity", "Date", "DateTime", "Time"})


def _bounded_point_type(iv: Interval) -> str | None:
    """The point type when it has a minimum and maximum; else the type of the other bound
    (a model type such as FHIR.dateTime says nothing usable); else None."""
    name = interval_point_type(iv)
    if name in _BOUNDED_TYPES:
        return name
    other = type_name_of(iv.low if iv.low is not None else iv.high)
    return other if other in _BOUNDED_TYPES else None


def _unit_of(iv: Interval) -> str:
    for bound in (iv.low, iv.high):
        if type(bound) is Quantity:
            return bound.unit
    return "1"


def interval_start(iv: Interval) -> Any:
    """The first point of the interval: a closed null low bound is the minimum value, an
    open null low bound is unknown (None), an open bound's successor is the first point."""
    low = iv.low
    if low is None:
        if not iv.low_closed:
            return None
        name = _bounded_point_type(iv)
        return None if name is None else min_value(name, _unit_of(iv))
    if iv.low_closed:
        return low
    return successor(low)


def interval_end(iv: Interval) -> Any:
    """The last point of the interval (see :func:`interval_start`)."""
    high = iv.high
    if high is None:
        if not iv.high_closed:
            return None
        name = _bounded_point_type(iv)
        return None if name is None else max_value(name, _unit_of(iv))
    if iv.high_closed:
        return high
    return predecessor(high)


def _bound_pair(a: Interval, b: Interval, low: bool) -> tuple[Any, Any]:
    """The two low (or high) bounds in comparable form: raw values when both sides agree on
    closedness, else as closed points."""
    if low:
        if a.low_closed == b.low_closed and a.low is not None and b.low is not None:
            return a.low, b.low
        return interval_start(a), interval_start(b)
    if a.high_closed == b.high_closed and a.high is not None and b.high is not None:
        return a.high, b.high
    return interval_end(a), interval_end(b)


def _interval_equal(a: Interval, b: Interval) -> bool | None:
    lo_a, lo_b = _bound_pair(a, b, low=True)
    hi_a, hi_b = _bound_pair(a, b, low=False)
    return _and3(equal(lo_a, lo_b), equal(hi_a, hi_b))


def _interval_equivalent(a: Interval, b: Interval) -> bool:
    lo_a, lo_b = _bound_pair(a, b, low=True)
    hi_a, hi_b = _bound_pair(a, b, low=False)
    return equivalent(lo_a, lo_b) and equivalent(hi_a, hi_b)


# --- equivalence --------------------------------------------------------------------------

_WHITESPACE = str.maketrans({"\t": " ", "\n": " ", "\r": " ", "\f": " ", "\v": " "})


def _string_key(s: str) -> str:
    return s.translate(_WHITESPACE).lower()


def _scale(d: Decimal) -> int:
    """Decimal places of a number ignoring trailing zeros."""
    exponent = d.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _decimal_equivalent(x: Decimal | int, y: Decimal | int) -> bool:
    if x == y:
        return True
    if type(x) is int and type(y) is int:
        return False
    dx, dy = Decimal(x), Decimal(y)
    places = min(_scale(dx), _scale(dy))
    step = Decimal(1).scaleb(-places)
    return dx.quantize(step, ROUND_HALF_UP) == dy.quantize(step, ROUND_HALF_UP)


def equivalent(a: Any, b: Any) -> bool:
    """CQL ``~``: never null."""
    if a is None:
        return b is None
    if b is None:
        return False
    ta = type(a)
    tb = type(b)
    if ta is int or ta is Decimal:
        if tb is int or tb is Decimal:
            return _decimal_equivalent(a, b)
        if tb is Uncertainty:
            return bool(b.low == b.high == a)
        return False
    if ta is str:
        return tb is str and (a == b or _string_key(a) == _string_key(b))
    if ta is bool:
        return tb is bool and a == b
    if ta is Quantity:
        return tb is Quantity and _quantity_equivalent(a, b)
    cql_equivalent = getattr(a, "_cql_equivalent", None)
    if cql_equivalent is not None:
        return bool(cql_equivalent(b))
    if ta is list:
        return (
            tb is list
            and len(a) == len(b)
            and all(equivalent(x, y) for x, y in zip(a, b, strict=True))
        )
    if ta is Interval:
        return tb is Interval and _interval_equivalent(a, b)
    if ta is CqlTuple:
        if tb is not CqlTuple:
            return False
        keys = set(a) | set(b)
        return all(equivalent(a.get(k), b.get(k)) for k in keys)
    if ta is Code:
        if tb is Code:
            return bool(a.code == b.code and a.system == b.system)
        if tb is Concept:
            return any(equivalent(a, c) for c in b.codes)
        return False
    if ta is Concept:
        if tb is Concept:
            return any(equivalent(x, y) for x in a.codes for y in b.codes)
        if tb is Code:
            return any(equivalent(x, b) for x in a.codes)
        return False
    if ta is Ratio:
        return tb is Ratio and _ratio_equivalent(a, b)
    if ta is Uncertainty:
        if tb is Uncertainty:
            return equivalent(a.low, b.low) and equivalent(a.high, b.high)
        return bool(a.low == a.high == b)
    return bool(a == b)


def _quantity_equivalent(a: Quantity, b: Quantity) -> bool:
    if a.value is None or b.value is None:
        return a.value is None and b.value is None
    if a.unit == b.unit or ucum.calendar_counterparts(a.unit, b.unit):
        return _decimal_equivalent(a.value, b.value)
    converted = ucum.convert_fraction(b.value, b.unit, a.unit, loose=True)
    if converted is None:
        return False
    return _decimal_equivalent(a.value, ucum.to_decimal(converted))


def _ratio_equivalent(a: Ratio, b: Ratio) -> bool:
    """Same ratio, e.g. 1:100 ~ 10:1000 (cross-multiplied in base units)."""
    parts = []
    for q in (a.numerator, a.denominator, b.numerator, b.denominator):
        if q.value is None:
            return False
        base = ucum.to_base(q.value, q.unit, loose=True)
        if base is None:
            return False
        parts.append(base)
    (an, and_), (ad, add), (bn, bnd), (bd, bdd) = parts
    if and_ != bnd or add != bdd:
        return False
    return an * bd == bn * ad


# --- ordering -----------------------------------------------------------------------------


def compare(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 for ordered types; None when null or uncertain (imprecise temporal values)."""
    if a is None or b is None:
        return None
    ta = type(a)
    if ta is int or ta is Decimal or ta is str:
        tb = type(b)
        if tb is Uncertainty:
            r = _uncertainty_compare(b, a)
            return None if r is None else -r
        if (tb is str) != (ta is str) or tb is bool:
            return None
        try:
            return (a > b) - (a < b)  # type: ignore[no-any-return]
        except TypeError:
            return None
    if ta is Quantity:
        return _quantity_compare(a, b) if type(b) is Quantity else None
    cql_compare = getattr(a, "_cql_compare", None)
    if cql_compare is not None:
        return cql_compare(b)  # type: ignore[no-any-return]
    if ta is Uncertainty:
        return _uncertainty_compare(a, b)
    return None


def compare_at(a: Any, b: Any, precision: Any = None) -> int | None:
    """:func:`compare` at a temporal precision (a ``temporal.Precision``); the precision is
    ignored for non-temporal values."""
    if precision is None or a is None or b is None:
        return compare(a, b)
    cql_compare = getattr(a, "_cql_compare", None)
    if cql_compare is not None:
        return cql_compare(b, precision)  # type: ignore[no-any-return]
    return compare(a, b)


# Wide enough that products of a Decimal and a unit-conversion factor are exact.
_WIDE = Context(prec=120)


def _quantity_compare(a: Quantity, b: Quantity) -> int | None:
    x, y = a.value, b.value
    if x is None or y is None:
        return None
    if a.unit != b.unit:
        factor = ucum.scale_factor(b.unit, a.unit)
        if factor is None:
            # Not comparable, or an offset scale (Celsius): compare in base units.
            base_a = ucum.to_base(x, a.unit)
            base_b = ucum.to_base(y, b.unit)
            if base_a is None or base_b is None or base_a[1] != base_b[1]:
                return None
            fa, fb = base_a[0], base_b[0]
            return (fa > fb) - (fa < fb)
        # x vs y * num / den, cross-multiplied with exact (wide) Decimal products.
        x = _WIDE.multiply(x, factor.denominator)
        y = _WIDE.multiply(y, factor.numerator)
    return (x > y) - (x < y)


# --- Uncertainty ----------------------------------------------------------------------------


def uncertainty_bounds(x: Any) -> tuple[Any, Any]:
    """(low, high) of an Uncertainty, or (x, x) for a definite value."""
    if type(x) is Uncertainty:
        return x.low, x.high
    return x, x


def _uncertainty_compare(a: Any, b: Any) -> int | None:
    alo, ahi = uncertainty_bounds(a)
    blo, bhi = uncertainty_bounds(b)
    if None in (alo, ahi, blo, bhi):
        return None
    if ahi < blo:
        return -1
    if alo > bhi:
        return 1
    if alo == ahi == blo == bhi:
        return 0
    return None


def _uncertainty_equal(a: Any, b: Any) -> bool | None:
    r = _uncertainty_compare(a, b)
    if r is None:
        return None
    return r == 0


def make_uncertainty(low: Any, high: Any) -> Any:
    """An Uncertainty, collapsed to the plain value when low equals high (spec: an
    uncertainty of width zero is the point value)."""
    if low == high and type(low) is type(high):
        return low
    return Uncertainty(low, high)


def uncertainty_span(candidates: list[Any]) -> Any:
    """The Uncertainty from the least to the greatest of ``candidates`` (numbers or
    quantities of one dimension); None when one is null or two cannot be ordered."""
    low = high = candidates[0]
    if low is None:
        return None
    for x in candidates[1:]:
        if x is None:
            return None
        if compare(x, low) == -1:
            low = x
        elif compare(x, high) == 1:
            high = x
        elif compare(x, low) is None or compare(x, high) is None:
            return None
    return make_uncertainty(low, high)


def uncertainty_order(a: Any, b: Any) -> int:
    """A total order for sorting that agrees with :func:`compare` wherever that decides:
    by low bound, then by high bound (a definite value is its own range)."""
    alo, ahi = uncertainty_bounds(a)
    blo, bhi = uncertainty_bounds(b)
    c = compare(alo, blo)
    if c:
        return c
    return compare(ahi, bhi) or 0


def uncertainty_add(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    alo, ahi = uncertainty_bounds(a)
    blo, bhi = uncertainty_bounds(b)
    return make_uncertainty(alo + blo, ahi + bhi)


def uncertainty_subtract(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    alo, ahi = uncertainty_bounds(a)
    blo, bhi = uncertainty_bounds(b)
    return make_uncertainty(alo - bhi, ahi - blo)


def uncertainty_multiply(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    alo, ahi = uncertainty_bounds(a)
    blo, bhi = uncertainty_bounds(b)
    products = (alo * blo, alo * bhi, ahi * blo, ahi * bhi)
    return make_uncertainty(min(products), max(products))


# --- successor and predecessor ---------------------------------------------------------------


def successor(x: Any, type_name: str | None = None) -> Any:
    """CQL ``successor of``; raises CqlEvaluationError past the maximum value.

    An ``int`` is taken as an Integer unless ``type_name`` says 'Long' or the value lies
    outside the Integer range.
    """
    tx = type(x)
    if tx is int:
        if type_name == "Long" or x > INTEGER_MAX or x < INTEGER_MIN:
            limit = LONG_MAX
        else:
            limit = INTEGER_MAX
        if x >= limit:
            raise CqlEvaluationError("successor of the maximum value is undefined")
        return x + 1
    if tx is Decimal:
        if x >= DECIMAL_MAX:
            raise CqlEvaluationError("successor of the maximum Decimal is undefined")
        return x + DECIMAL_STEP
    if tx is Quantity:
        return Quantity(successor(x.value), x.unit)
    if tx is Uncertainty:
        return make_uncertainty(successor(x.low, type_name), successor(x.high, type_name))
    if _is_temporal(x):
        return _temporal_step(x, 1)
    if x is None:
        return None
    raise CqlEvaluationError(f"successor is not defined for {tx.__name__}")


def predecessor(x: Any, type_name: str | None = None) -> Any:
    """CQL ``predecessor of``; raises CqlEvaluationError past the minimum value."""
    tx = type(x)
    if tx is int:
        if type_name == "Long" or x > INTEGER_MAX or x < INTEGER_MIN:
            limit = LONG_MIN
        else:
            limit = INTEGER_MIN
        if x <= limit:
            raise CqlEvaluationError("predecessor of the minimum value is undefined")
        return x - 1
    if tx is Decimal:
        if x <= DECIMAL_MIN:
            raise CqlEvaluationError("predecessor of the minimum Decimal is undefined")
        return x - DECIMAL_STEP
    if tx is Quantity:
        return Quantity(predecessor(x.value), x.unit)
    if tx is Uncertainty:
        return make_uncertainty(predecessor(x.low, type_name), predecessor(x.high, type_name))
    if _is_temporal(x):
        return _temporal_step(x, -1)
    if x is None:
        return None
    raise CqlEvaluationError(f"predecessor is not defined for {tx.__name__}")


def _fields_of(x: Any) -> tuple[str, ...]:
    name = type(x).__name__
    if name == "Time":
        return _TIME_FIELDS
    if name == "Date":
        return _DATE_FIELDS
    return _DATETIME_FIELDS


def _present(x: Any) -> list[int]:
    """The specified components of a temporal value, most significant first."""
    out: list[int] = []
    for f in _fields_of(x):
        v = getattr(x, f)
        if v is None:
            break
        out.append(v)
    return out


def _temporal_step(x: Any, sign: int) -> Any:
    """One unit of the value's own precision later (sign 1) or earlier (sign -1)."""
    method = getattr(x, "successor" if sign > 0 else "predecessor", None)
    if method is not None:
        return method()
    comps = _present(x)
    is_time = type(x).__name__ == "Time"
    limit = (
        (_TIME_MAX if sign > 0 else _TIME_MIN)
        if is_time
        else (_DATETIME_MAX if sign > 0 else _DATETIME_MIN)
    )
    if tuple(comps) == limit[: len(comps)]:
        what = "successor of the maximum" if sign > 0 else "predecessor of the minimum"
        raise CqlEvaluationError(f"{what} {type(x).__name__} is undefined")
    if is_time:
        # Time has no calendar: carry through hour/minute/second/millisecond by hand.
        i = len(comps) - 1
        comps[i] += sign
        while i > 0 and not 0 <= comps[i] < _TIME_RADIX[i]:
            comps[i] %= _TIME_RADIX[i]
            i -= 1
            comps[i] += sign
        return type(x)(*comps)
    unit = x.precision.name.lower()
    q = Quantity(Decimal(1), unit)
    return x.add(q) if sign > 0 else x.subtract(q)


def truncate(x: Any, precision: Any) -> Any:
    """A temporal value cut down to ``precision`` (a ``temporal.Precision``); other values
    and coarser temporal values are returned unchanged."""
    if precision is None or not _is_temporal(x):
        return x
    fields = _fields_of(x)
    name = precision.name.lower()
    if name not in fields:
        return x
    keep = fields.index(name) + 1
    comps = [getattr(x, f) for f in fields[:keep]]
    if type(x).__name__ == "DateTime":
        if all(getattr(x, f) is None for f in fields[keep:]):
            return x
        return type(x)(*comps, *([None] * (len(fields) - keep)), offset=x.offset)
    if all(getattr(x, f) is None for f in fields[keep:]):
        return x
    return type(x)(*comps)
