"""CQL interval operators (CQL 1.5 reference, "Interval Operators").

Bounds: a null bound that is closed means "unbounded" (the point type's minimum or maximum);
a null bound that is open means "unknown", which makes comparisons against it null. An open
bound stands for its successor (low) or predecessor (high) whenever a closed point is needed,
see ``values.interval_start`` and ``values.interval_end``.

Temporal comparisons take the node's ``precision`` ('Day' …) when there is one; an answer that
depends on components a value lacks is null.

The node types shared with lists (``In``, ``Contains``, ``Includes``, ``Union`` …) are
registered here: the resolved overload in the ELM ``signature`` picks the list or interval
implementation at compile time, and the operand's run-time value decides when the ELM does not
say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal
from functools import cmp_to_key
from typing import TYPE_CHECKING, Any

from ..datatypes import ucum, values
from ..datatypes.temporal import Precision
from ..datatypes.values import Interval, Quantity, compare_at, interval_end, interval_start
from ..errors import CqlEvaluationError, ElmError
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, operand_nodes
from . import list as list_ops
from .operand_types import signature_types

if TYPE_CHECKING:
    from ..runtime.context import Context

Prec = Precision | None

# Guards an expand over a huge range (e.g. every millisecond of a year).
MAX_EXPAND = 100_000


# --- three-valued logic ---------------------------------------------------------------------


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _lt(a: Any, b: Any, p: Prec) -> bool | None:
    c = compare_at(a, b, p)
    return None if c is None else c < 0


def _le(a: Any, b: Any, p: Prec) -> bool | None:
    c = compare_at(a, b, p)
    return None if c is None else c <= 0


def _eq(a: Any, b: Any, p: Prec) -> bool | None:
    c = compare_at(a, b, p)
    return None if c is None else c == 0


# --- precision ------------------------------------------------------------------------------

_UNIT_PRECISION: dict[str, Precision] = {}
for _p in Precision:
    _word = _p.name.lower()
    _UNIT_PRECISION[_word] = _UNIT_PRECISION[_word + "s"] = _p
_UNIT_PRECISION.update(
    {
        "a": Precision.YEAR,
        "mo": Precision.MONTH,
        "wk": Precision.WEEK,
        "d": Precision.DAY,
        "h": Precision.HOUR,
        "min": Precision.MINUTE,
        "s": Precision.SECOND,
        "ms": Precision.MILLISECOND,
    }
)


def precision_of(elm: ElmNode) -> Prec:
    """The node's ``precision`` attribute ('Day' …) as a Precision, or None."""
    name = elm.get("precision")
    if name is None:
        return None
    try:
        return Precision[str(name).upper()]
    except KeyError:
        raise ElmError(f"unknown precision {name!r}", locator=elm.get("locator")) from None


def _unit_precision(unit: str) -> Precision:
    p = _UNIT_PRECISION.get(unit)
    if p is None:
        raise CqlEvaluationError(f"{unit!r} is not a unit of time")
    return p


def _value_precision(x: Any) -> Precision | None:
    return x.precision if hasattr(x, "_cql_compare") else None


# --- the selector and the bound accessors -----------------------------------------------------


def _named(name: Any) -> str | None:
    """A type name unless it is missing or Any (which says nothing about the points)."""
    return name if isinstance(name, str) and not name.endswith("}Any") else None


def _bound_type(bound: Any) -> str | None:
    if not isinstance(bound, dict):
        return None
    found = _named(bound.get("resultTypeName")) or _named(bound.get("asType"))
    if found is None and isinstance(bound.get("asTypeSpecifier"), dict):
        found = _named(bound["asTypeSpecifier"].get("name"))
    return found


def _point_type(elm: ElmNode) -> str | None:
    """The point type from the selector's result type, else from its bounds (the translator
    leaves the result type off ``Interval[null as Integer, null as Integer]``)."""
    spec = elm.get("resultTypeSpecifier")
    if isinstance(spec, dict):
        point = spec.get("pointType")
        if isinstance(point, dict):
            found = _named(point.get("name"))
            if found is not None:
                return found
    return _bound_type(elm.get("low")) or _bound_type(elm.get("high"))


def make_interval(
    low: Any, high: Any, low_closed: bool, high_closed: bool, point_type: str | None = None
) -> Interval:
    """An interval; raises when low is after high (an invalid interval is a run-time error)."""
    if low is not None and high is not None:
        c = values.compare(low, high)
        if c is not None and (c > 0 or (c == 0 and not (low_closed and high_closed))):
            raise CqlEvaluationError(
                f"invalid interval: low bound {low!r} is after high bound {high!r}"
            )
    return Interval(low, high, low_closed, high_closed, point_type)


@node("Interval")
def compile_interval(elm: ElmNode, compiler: Compiler) -> Evaluator:
    low = compiler.compile_optional(elm.get("low"))
    high = compiler.compile_optional(elm.get("high"))
    point_type = _point_type(elm)

    def closedness(key: str) -> Evaluator:
        expr = elm.get(key + "Expression")
        if expr is not None:
            flag = compiler.compile(expr)
            # A null closedness expression leaves the bound closed, as the attribute default.
            return lambda ctx: flag(ctx) is not False
        value = elm.get(key, True)
        return lambda ctx: value

    low_closed = closedness("lowClosed")
    high_closed = closedness("highClosed")
    if "lowClosedExpression" not in elm and "highClosedExpression" not in elm:
        lc = bool(elm.get("lowClosed", True))
        hc = bool(elm.get("highClosed", True))

        def fixed(ctx: Context) -> Interval:
            return make_interval(low(ctx), high(ctx), lc, hc, point_type)

        return fixed

    def dynamic(ctx: Context) -> Interval:
        return make_interval(low(ctx), high(ctx), low_closed(ctx), high_closed(ctx), point_type)

    return dynamic


def start(iv: Interval | None) -> Any:
    return None if iv is None else interval_start(iv)


def end(iv: Interval | None) -> Any:
    return None if iv is None else interval_end(iv)


def width(iv: Interval | None) -> Any:
    if iv is None:
        return None
    s, e = interval_start(iv), interval_end(iv)
    if s is None or e is None:
        return None
    if type(s) is Quantity and type(e) is Quantity:
        if s.value is None or e.value is None:
            return None
        ev = e.value if e.unit == s.unit else ucum.convert(e.value, e.unit, s.unit)
        if ev is None:
            raise CqlEvaluationError(f"width: units {s.unit!r} and {e.unit!r} differ")
        return Quantity(ev - s.value, s.unit)
    if type(s) in (int, Decimal) and type(e) in (int, Decimal):
        return e - s
    raise CqlEvaluationError(f"width is not defined for intervals of {type(s).__name__}")


def size(iv: Interval | None) -> Any:
    """The number of points: width plus one step of the point type."""
    w = width(iv)
    if w is None:
        return None
    if type(w) is int:
        return w + 1
    if type(w) is Decimal:
        return w + values.DECIMAL_STEP
    return None if w.value is None else Quantity(w.value + values.DECIMAL_STEP, w.unit)


def point_from(iv: Interval | None) -> Any:
    if iv is None:
        return None
    s, e = interval_start(iv), interval_end(iv)
    if s is None and e is None:
        return None
    if values.equal(s, e) is not True:
        raise CqlEvaluationError("point from requires a unit interval")
    return s


# --- membership -------------------------------------------------------------------------------


def contains(iv: Interval | None, x: Any, p: Prec = None) -> bool | None:
    """``iv contains x``: false for a null interval, null for a null point."""
    if iv is None:
        return False
    if x is None:
        return None
    low, high = iv.low, iv.high
    if low is None:
        low_ok: bool | None = True if iv.low_closed else None
    else:
        c = compare_at(x, low, p)
        low_ok = None if c is None else (c > 0 or (c == 0 and iv.low_closed))
    if low_ok is False:
        return False
    if high is None:
        high_ok: bool | None = True if iv.high_closed else None
    else:
        c = compare_at(x, high, p)
        high_ok = None if c is None else (c < 0 or (c == 0 and iv.high_closed))
    return _and(low_ok, high_ok)


def proper_contains(iv: Interval | None, x: Any, p: Prec = None) -> bool | None:
    """``iv properly includes x``: strictly after the start and before the end; null when
    either is null (unlike ``contains``, whose null interval contains nothing)."""
    if iv is None or x is None:
        return None
    return _and(_lt(interval_start(iv), x, p), _lt(x, interval_end(iv), p))


def includes(a: Interval | None, b: Any, p: Prec = None) -> bool | None:
    """``a includes b``; a point ``b`` means ``a contains b``."""
    if a is None or b is None:
        return None
    if type(b) is not Interval:
        return contains(a, b, p)
    return _and(
        _le(interval_start(a), interval_start(b), p), _le(interval_end(b), interval_end(a), p)
    )


def included_in(a: Any, b: Interval | None, p: Prec = None) -> bool | None:
    if a is None or b is None:
        return None
    if type(a) is not Interval:
        return contains(b, a, p)
    return includes(b, a, p)


def proper_includes(a: Interval | None, b: Any, p: Prec = None) -> bool | None:
    if a is None or b is None:
        return None
    if type(b) is not Interval:
        return proper_contains(a, b, p)
    inc = includes(a, b, p)
    if inc is False:
        return False
    differs = _or(
        _lt(interval_start(a), interval_start(b), p), _lt(interval_end(b), interval_end(a), p)
    )
    return _and(inc, differs)


def proper_included_in(a: Any, b: Interval | None, p: Prec = None) -> bool | None:
    if a is None or b is None:
        return None
    if type(a) is not Interval:
        return proper_contains(b, a, p)
    return proper_includes(b, a, p)


# --- timing relationships ---------------------------------------------------------------------


def _first(x: Any) -> Any:
    return interval_start(x) if type(x) is Interval else x


def _last(x: Any) -> Any:
    return interval_end(x) if type(x) is Interval else x


def before(a: Any, b: Any, p: Prec = None) -> bool | None:
    """``a before b`` for intervals and points: a ends before b starts."""
    if a is None or b is None:
        return None
    return _lt(_last(a), _first(b), p)


def after(a: Any, b: Any, p: Prec = None) -> bool | None:
    if a is None or b is None:
        return None
    return _lt(_last(b), _first(a), p)


def same_or_before(a: Any, b: Any, p: Prec = None) -> bool | None:
    """``a same or before b`` (``on or before``): a ends no later than b starts."""
    if a is None or b is None:
        return None
    return _le(_last(a), _first(b), p)


def same_or_after(a: Any, b: Any, p: Prec = None) -> bool | None:
    if a is None or b is None:
        return None
    return _le(_last(b), _first(a), p)


def same_as(a: Any, b: Any, p: Prec = None) -> bool | None:
    """``a same as b``: equal points, or intervals with the same start and end."""
    if a is None or b is None:
        return None
    if type(a) is Interval and type(b) is Interval:
        return _and(
            _eq(interval_start(a), interval_start(b), p), _eq(interval_end(a), interval_end(b), p)
        )
    if p is None:
        return values.equal(a, b)
    return _eq(a, b, p)


def _next_point(x: Any, p: Prec) -> Any:
    """The point after ``x``; at a precision, the next unit of that precision."""
    if x is None:
        return None
    if p is not None and hasattr(x, "_cql_compare"):
        own = x.precision
        if own > p:
            x = values.truncate(x, p)
    return values.successor(x)


def meets_before(a: Interval | None, b: Interval | None, p: Prec = None) -> bool | None:
    """``a meets before b``: b starts right after a ends."""
    if a is None or b is None:
        return None
    end_a, start_b = interval_end(a), interval_start(b)
    if end_a is not None and start_b is not None:
        return _eq(_next_point(end_a, p), start_b, p)
    # With an unknown bound the answer is still false when the known bounds rule it out:
    # meeting before needs a to start before b starts, and to end before b ends.
    start_a, end_b = interval_start(a), interval_end(b)
    for first, second in ((start_a, start_b), (end_a, end_b), (start_a, end_b)):
        if first is not None and second is not None and _lt(first, second, p) is False:
            return False
    return None


def meets_after(a: Interval | None, b: Interval | None, p: Prec = None) -> bool | None:
    return meets_before(b, a, p)


def meets(a: Interval | None, b: Interval | None, p: Prec = None) -> bool | None:
    return _or(meets_before(a, b, p), meets_after(a, b, p))


def overlaps(a: Interval | None, b: Interval | None, p: Prec = None) -> bool | None:
    if a is None or b is None:
        return None
    return _and(
        _le(interval_start(a), interval_end(b), p), _le(interval_start(b), interval_end(a), p)
    )


def overlaps_before(a: Interval | None, b: Interval | None, p: Prec = None) -> bool | None:
    """``a overlaps before b``: a starts before b starts and the two overlap."""
    if a is None or b is None:
        return None
    return _and(_lt(interval_start(a), interval_start(b), p), overlaps(a, b, p))


def overlaps_after(a: Interval | None, b: Interval | None, p: Prec = None) -> bool | None:
    """``a overlaps after b``: a ends after b ends and the two overlap."""
    if a is None or b is None:
        return None
    return _and(_lt(interval_end(b), interval_end(a), p), overlaps(a, b, p))


def starts(a: Interval | None, b: Interval | None, p: Prec = None) -> bool | None:
    if a is None or b is None:
        return None
    return _and(
        _eq(interval_start(a), interval_start(b), p), _le(interval_end(a), interval_end(b), p)
    )


def ends(a: Interval | None, b: Interval | None, p: Prec = None) -> bool | None:
    if a is None or b is None:
        return None
    return _and(
        _le(interval_start(b), interval_start(a), p), _eq(interval_end(a), interval_end(b), p)
    )


# --- set operations ---------------------------------------------------------------------------


def _more_precise(x: Any, y: Any) -> Any:
    px, py = _value_precision(x), _value_precision(y)
    if px is None or py is None:
        return x
    return y if py > px else x


def _lower_bound(a: Interval, b: Interval, pick_min: bool) -> tuple[Any, bool]:
    """The low bound (value, closed) of the union (pick_min) or intersection."""
    sa, sb = interval_start(a), interval_start(b)
    if sa is None or sb is None:
        # An unknown bound leaves the result's bound unknown too.
        return None, False
    c = values.compare(sa, sb)
    if c is None:
        chosen = a if _more_precise(sa, sb) is sa else b
    else:
        chosen = a if (c <= 0) == pick_min else b
    return chosen.low, chosen.low_closed


def _upper_bound(a: Interval, b: Interval, pick_max: bool) -> tuple[Any, bool]:
    ea, eb = interval_end(a), interval_end(b)
    if ea is None or eb is None:
        return None, False
    c = values.compare(ea, eb)
    if c is None:
        chosen = a if _more_precise(ea, eb) is ea else b
    else:
        chosen = a if (c >= 0) == pick_max else b
    return chosen.high, chosen.high_closed


def union(a: Interval | None, b: Interval | None) -> Interval | None:
    """``a union b``: null unless the two overlap or meet (the result must be one interval)."""
    if a is None or b is None:
        return None
    if _or(overlaps(a, b), meets(a, b)) is not True:
        return None
    low, low_closed = _lower_bound(a, b, pick_min=True)
    high, high_closed = _upper_bound(a, b, pick_max=True)
    return Interval(low, high, low_closed, high_closed, a.point_type or b.point_type)


def intersect(a: Interval | None, b: Interval | None) -> Interval | None:
    if a is None or b is None:
        return None
    if overlaps(a, b) is False:
        return None
    low, low_closed = _lower_bound(a, b, pick_min=False)
    high, high_closed = _upper_bound(a, b, pick_max=False)
    result = Interval(low, high, low_closed, high_closed, a.point_type or b.point_type)
    s, e = interval_start(result), interval_end(result)
    if s is not None and e is not None:
        c = values.compare(s, e)
        if c is not None and c > 0:
            return None
    return result


def except_(a: Interval | None, b: Interval | None) -> Interval | None:
    """``a except b``: the part of a outside b, null when that is not a single interval."""
    if a is None or b is None:
        return None
    ov = overlaps(a, b)
    if ov is False:
        return a
    if ov is None:
        return None
    sa, ea, sb, eb = interval_start(a), interval_end(a), interval_start(b), interval_end(b)
    c_start = values.compare(sb, sa)
    c_end = values.compare(eb, ea)
    if c_start is None or c_end is None:
        return None
    covers_start = c_start <= 0
    covers_end = c_end >= 0
    if covers_start == covers_end:
        # b covers all of a, or cuts a in two: neither is one interval.
        return None
    if covers_start:
        return Interval(values.successor(eb), a.high, True, a.high_closed, a.point_type)
    return Interval(a.low, values.predecessor(sb), a.low_closed, True, a.point_type)


# --- collapse and expand ----------------------------------------------------------------------


def _start_key(a: Interval, b: Interval) -> int:
    sa, sb = interval_start(a), interval_start(b)
    if sa is None or sb is None:
        return (sb is None) - (sa is None)
    c = values.compare(sa, sb)
    if c is None:
        c = (
            values.compare(
                values.truncate(sa, _value_precision(sb)), values.truncate(sb, _value_precision(sa))
            )
            or 0
        )
    return c


def _joins(cur: Interval, nxt: Interval, per: Quantity | None) -> bool:
    """Whether ``nxt`` (starting no earlier than ``cur``) overlaps or meets ``cur``."""
    end_cur, start_next = interval_end(cur), interval_start(nxt)
    if end_cur is None or start_next is None:
        return True
    if _le(start_next, end_cur, None) is True:
        # Overlapping: no need for the (costlier) successor of the end.
        return True
    if per is not None and per.value is not None:
        if hasattr(end_cur, "_cql_compare"):
            p = _unit_precision(per.unit)
            limit = _next_point(end_cur, p)
            return _le(start_next, limit, p) is not False
        if type(end_cur) is Quantity:
            if end_cur.value is None:
                return True
            return (
                _le(start_next, Quantity(end_cur.value + per.value, end_cur.unit), None)
                is not False
            )
        return _le(start_next, end_cur + per.value, None) is not False
    return _le(start_next, values.successor(end_cur), None) is not False


def collapse(
    intervals: Sequence[Interval | None] | None, per: Quantity | None = None
) -> list[Interval] | None:
    """Merge overlapping and meeting intervals; null and unknown intervals are dropped."""
    if intervals is None:
        return None
    items = [
        iv
        for iv in intervals
        if iv is not None
        and not (iv.low is None and iv.high is None and not iv.low_closed and not iv.high_closed)
    ]
    if not items:
        return []
    items.sort(key=cmp_to_key(_start_key))
    out: list[Interval] = [items[0]]
    for iv in items[1:]:
        cur = out[-1]
        if _joins(cur, iv, per):
            high, high_closed = _upper_bound(cur, iv, pick_max=True)
            out[-1] = Interval(
                cur.low, high, cur.low_closed, high_closed, cur.point_type or iv.point_type
            )
        else:
            out.append(iv)
    return out


def _decimal_places(d: Decimal) -> int:
    exponent = d.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _numeric_points(iv: Interval, per: Quantity | None) -> list[tuple[Any, Any]]:
    """(first, last) point of each unit interval of a numeric interval."""
    s, e = interval_start(iv), interval_end(iv)
    if s is None or e is None:
        return []
    quantity_unit: str | None = None
    if type(s) is Quantity:
        quantity_unit = s.unit
        s, e = s.value, e.value
        if per is not None and per.unit not in ("1", quantity_unit):
            converted = ucum.convert(per.value or 0, per.unit, quantity_unit)
            if converted is None:
                raise CqlEvaluationError(f"expand: per unit {per.unit!r} does not fit")
            per = Quantity(converted, quantity_unit)
    step_value = Decimal(1) if per is None or per.value is None else per.value
    if step_value <= 0:
        return []
    out: list[tuple[Any, Any]] = []
    if (
        type(s) is int
        and type(e) is int
        and step_value == step_value.to_integral_value()
        and quantity_unit is None
    ):
        step = int(step_value)
        for x in range(s, e - step + 2, step):
            out.append((x, x + step - 1))
            if len(out) > MAX_EXPAND:
                raise CqlEvaluationError("expand would produce too many intervals")
        return out
    places = _decimal_places(step_value)
    unit = Decimal(1).scaleb(-places)
    # An Integer end stands for its whole unit: 10 covers 10.0 up to 10.9 at step 0.1.
    last = Decimal(e) + 1 - unit if type(e) is int else Decimal(e)
    point = Decimal(s).quantize(unit, rounding=ROUND_CEILING)
    while point + step_value - unit <= last:
        out.append((point, point + step_value - unit))
        point += step_value
        if len(out) > MAX_EXPAND:
            raise CqlEvaluationError("expand would produce too many intervals")
    if quantity_unit is not None:
        return [(Quantity(a, quantity_unit), Quantity(b, quantity_unit)) for a, b in out]
    return out


def _temporal_points(iv: Interval, per: Quantity | None) -> list[tuple[Any, Any]]:
    s, e = interval_start(iv), interval_end(iv)
    if s is None or e is None:
        return []
    if per is None or per.value is None:
        p = s.precision
        amount = 1
    else:
        p = _unit_precision(per.unit)
        amount = int(per.value)
        if amount != per.value or amount <= 0:
            raise CqlEvaluationError("expand: per must be a positive whole number of units")
    if p == Precision.WEEK:
        p, amount = Precision.DAY, amount * 7
    if s.precision < p or e.precision < p:
        # The bounds are coarser than the per: no whole unit interval can be named.
        return []
    s, e = values.truncate(s, p), values.truncate(e, p)
    unit_name = p.name.lower()
    out: list[tuple[Any, Any]] = []
    x = s
    is_time = type(x).__name__ == "Time"
    while True:
        if is_time:
            nxt = x
            for _ in range(amount):
                if values.compare(nxt, values.max_value("Time")) == 0:
                    nxt = None
                    break
                nxt = values.successor(nxt)
            last = (
                values.predecessor(nxt)
                if nxt is not None
                else values.truncate(values.max_value("Time"), p)
            )
        else:
            nxt = x.add(Quantity(Decimal(amount), unit_name))
            last = values.predecessor(nxt)
        c = values.compare(last, e)
        if c is None or c > 0:
            break
        out.append((x, last))
        if nxt is None or len(out) > MAX_EXPAND:
            if nxt is not None:
                raise CqlEvaluationError("expand would produce too many intervals")
            break
        x = nxt
    return out


def _unit_points(iv: Interval, per: Quantity | None) -> list[tuple[Any, Any]]:
    probe = iv.low if iv.low is not None else iv.high
    if hasattr(probe, "_cql_compare"):
        return _temporal_points(iv, per)
    return _numeric_points(iv, per)


def _default_per(intervals: Sequence[Interval]) -> Quantity | None:
    """Without ``per``, the unit of the coarsest precision among the bounds: a day for dates,
    the hour for a mix of hours and minutes, 0.1 for Decimal bounds like 10.0 and 12.5."""
    bounds = [b for iv in intervals for b in (iv.low, iv.high) if b is not None]
    if not bounds:
        return None
    first = bounds[0]
    if hasattr(first, "_cql_compare"):
        coarsest = min(b.precision for b in bounds)
        return Quantity(Decimal(1), coarsest.name.lower())
    if type(first) is Quantity:
        places = min(_decimal_places(b.value) for b in bounds if b.value is not None)
        return Quantity(Decimal(1).scaleb(-places), first.unit)
    if type(first) is Decimal:
        places = min(_decimal_places(b) for b in bounds if type(b) is Decimal)
        return Quantity(Decimal(1).scaleb(-places), "1")
    return None


def expand_interval(iv: Interval | None, per: Quantity | None = None) -> list[Any] | None:
    """``expand Interval per q``: the starting point of each unit interval."""
    if iv is None:
        return None
    if per is None:
        per = _default_per([iv])
    return [first for first, _ in _unit_points(iv, per)]


def expand_list(
    intervals: Sequence[Interval | None] | None, per: Quantity | None = None
) -> list[Interval] | None:
    """``expand {Interval…} per q``: the unit intervals covering every interval, in order,
    without duplicates."""
    if intervals is None:
        return None
    ranges = collapse(intervals) or []
    if per is None:
        per = _default_per(ranges)
    out: list[Interval] = []
    for iv in ranges:
        for first, last in _unit_points(iv, per):
            out.append(Interval(first, last, True, True, iv.point_type))
    return out


# --- compiling the nodes ----------------------------------------------------------------------


def _compile_operands(elm: ElmNode, compiler: Compiler, count: int) -> list[Evaluator]:
    operands = operand_nodes(elm)
    if len(operands) != count:
        raise ElmError(
            f"{elm.get('type')} expects {count} operands, got {len(operands)}",
            locator=elm.get("locator"),
        )
    return [compiler.compile(o) for o in operands]


def _unary(fn: Callable[[Any], Any]) -> Callable[[ElmNode, Compiler], Evaluator]:
    def compile_fn(elm: ElmNode, compiler: Compiler) -> Evaluator:
        (a,) = _compile_operands(elm, compiler, 1)
        return lambda ctx: fn(a(ctx))

    return compile_fn


def _binary(fn: Callable[[Any, Any, Prec], Any]) -> Callable[[ElmNode, Compiler], Evaluator]:
    """A binary interval operator with the node's precision."""

    def compile_fn(elm: ElmNode, compiler: Compiler) -> Evaluator:
        a, b = _compile_operands(elm, compiler, 2)
        p = precision_of(elm)
        return lambda ctx: fn(a(ctx), b(ctx), p)

    return compile_fn


for _name, _fn in (
    ("Start", start),
    ("End", end),
    ("Width", width),
    ("Size", size),
    ("PointFrom", point_from),
):
    node(_name)(_unary(_fn))

for _name, _bfn in (
    ("Before", before),
    ("After", after),
    ("SameAs", same_as),
    ("SameOrBefore", same_or_before),
    ("SameOrAfter", same_or_after),
    ("Meets", meets),
    ("MeetsBefore", meets_before),
    ("MeetsAfter", meets_after),
    ("Overlaps", overlaps),
    ("OverlapsBefore", overlaps_before),
    ("OverlapsAfter", overlaps_after),
    ("Starts", starts),
    ("Ends", ends),
):
    node(_name)(_binary(_bfn))


def _overloaded(
    name: str,
    interval_fn: Callable[[Any, Any, Prec], Any],
    list_fn: Callable[[Any, Any], Any],
    list_arg: int,
) -> None:
    """Register a node shared by lists and intervals. ``list_arg`` is the operand whose type
    (List or Interval) selects the implementation."""

    def compile_fn(elm: ElmNode, compiler: Compiler) -> Evaluator:
        a, b = _compile_operands(elm, compiler, 2)
        p = precision_of(elm)
        sig = signature_types(elm)
        kind = sig[list_arg] if len(sig) == 2 else None
        if kind == "List":
            return lambda ctx: list_fn(a(ctx), b(ctx))
        if kind == "Interval":
            return lambda ctx: interval_fn(a(ctx), b(ctx), p)

        def by_value(ctx: Context) -> Any:
            x, y = a(ctx), b(ctx)
            probe, other = (x, y) if list_arg == 0 else (y, x)
            if type(probe) is Interval or (probe is None and type(other) is Interval):
                return interval_fn(x, y, p)
            if probe is None or isinstance(probe, list):
                return list_fn(x, y)
            raise CqlEvaluationError(f"{name}: expected a list or an interval")

        return by_value

    node(name)(compile_fn)


def _set_op(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any, Prec], Any]:
    return lambda a, b, p: fn(a, b)


_overloaded("Contains", contains, list_ops.list_contains, 0)
_overloaded("In", lambda x, iv, p: contains(iv, x, p), list_ops.list_in, 1)
_overloaded("ProperContains", proper_contains, list_ops.list_proper_contains, 0)
_overloaded("ProperIn", lambda x, iv, p: proper_contains(iv, x, p), list_ops.list_proper_in, 1)
_overloaded("Includes", includes, list_ops.list_includes, 0)
_overloaded("IncludedIn", included_in, list_ops.list_included_in, 1)
_overloaded("ProperIncludes", proper_includes, list_ops.list_proper_includes, 0)
_overloaded("ProperIncludedIn", proper_included_in, list_ops.list_proper_included_in, 1)
_overloaded("Union", _set_op(union), list_ops.list_union, 0)
_overloaded("Intersect", _set_op(intersect), list_ops.list_intersect, 0)
_overloaded("Except", _set_op(except_), list_ops.list_except, 0)


def _per_operand(elm: ElmNode, compiler: Compiler) -> tuple[Evaluator, Evaluator]:
    operands = operand_nodes(elm)
    if not operands:
        raise ElmError(f"{elm.get('type')} needs an operand", locator=elm.get("locator"))
    source = compiler.compile(operands[0])
    per = compiler.compile_optional(operands[1] if len(operands) > 1 else elm.get("per"))
    return source, per


@node("Collapse")
def compile_collapse(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source, per = _per_operand(elm, compiler)
    return lambda ctx: collapse(source(ctx), per(ctx))


@node("Expand")
def compile_expand(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source, per = _per_operand(elm, compiler)
    kind = signature_types(elm)[0] if elm.get("signature") else None

    def run(ctx: Context) -> Any:
        x = source(ctx)
        if kind == "Interval" or type(x) is Interval:
            return expand_interval(x, per(ctx))
        return expand_list(x, per(ctx))

    return run
