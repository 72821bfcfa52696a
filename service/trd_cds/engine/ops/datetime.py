"""Date and time operators (CQL 1.5 reference, "Date and Time Operators").

Selectors, the evaluation clock (``Now``, ``Today``, ``TimeOfDay``), component extraction,
durations, differences and ages. Comparisons at a precision (``same day as`` …) share their
ELM node types with intervals and live in ``interval.py``; arithmetic with quantities lives
in ``arithmetic.py``. Both call into :mod:`..temporal`.

A DateTime built without a timezone offset gets the evaluation request's offset (spec,
DateTime selector), read from ``ctx.now``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..datatypes.temporal import (
    Date,
    DateTime,
    Precision,
    Time,
    difference_between,
    duration_between,
)
from ..errors import ElmError
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, operator, operator_factory

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..runtime.context import Context

_DATE_PARTS = ("year", "month", "day")
_DATETIME_PARTS = ("year", "month", "day", "hour", "minute", "second", "millisecond")
_TIME_PARTS = ("hour", "minute", "second", "millisecond")


def _precision(elm: ElmNode) -> Precision:
    name = elm.get("precision")
    if not isinstance(name, str):
        raise ElmError(f"{elm.get('type')} needs a precision", locator=elm.get("locator"))
    return Precision.parse(name)


def _literal_int(elm: ElmNode | None) -> int | None:
    """The value of an Integer literal node (selectors of literals are folded at compile
    time); None for anything else."""
    if elm is None or elm.get("type") != "Literal":
        return None
    if not str(elm.get("valueType", "")).endswith("Integer"):
        return None
    try:
        return int(elm["value"])
    except (KeyError, TypeError, ValueError):
        return None


def _components(elm: ElmNode, parts: tuple[str, ...], compiler: Compiler
                ) -> tuple[list[Evaluator], list[int] | None]:
    """Evaluators of the given components (trailing absent ones dropped), and their values
    when every one is an Integer literal."""
    present = [p for p in parts if elm.get(p) is not None]
    count = 0
    for i, p in enumerate(parts):
        if p in present:
            count = i + 1
    nodes = [elm.get(p) for p in parts[:count]]
    evaluators = [compiler.compile_optional(n) for n in nodes]
    literals = [_literal_int(n) for n in nodes]
    if all(v is not None for v in literals):
        return evaluators, literals  # type: ignore[return-value]
    return evaluators, None


def _build_datetime(parts: list[Any], offset: Decimal | None) -> DateTime:
    parts = parts + [None] * (7 - len(parts))
    return DateTime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6],
                    offset)


@node("DateTime")
def _datetime_selector(elm: ElmNode, compiler: Compiler) -> Evaluator:
    evaluators, literals = _components(elm, _DATETIME_PARTS, compiler)
    offset_node = elm.get("timezoneOffset")
    offset_of = compiler.compile(offset_node) if offset_node is not None else None
    if literals is not None and offset_of is None:
        # Validated once; each evaluation only stamps the evaluation offset.
        base = _build_datetime(literals, None)
        by_offset: dict[Decimal | None, DateTime] = {}

        def folded(ctx: Context) -> Any:
            offset = ctx.now.offset
            value = by_offset.get(offset)
            if value is None:
                value = by_offset[offset] = base.at_offset(offset) if offset is not None else base
            return value

        return folded

    def select(ctx: Context) -> Any:
        values = [e(ctx) for e in evaluators]
        if not values or values[0] is None:
            return None
        offset = offset_of(ctx) if offset_of is not None else None
        if offset is None:
            offset = ctx.now.offset
        return _build_datetime(values, offset)

    return select


@node("Date")
def _date_selector(elm: ElmNode, compiler: Compiler) -> Evaluator:
    evaluators, literals = _components(elm, _DATE_PARTS, compiler)
    if literals is not None:
        constant = Date(*literals)
        return lambda ctx: constant

    def select(ctx: Context) -> Any:
        values = [e(ctx) for e in evaluators]
        if not values or values[0] is None:
            return None
        return Date(*values)

    return select


@node("Time")
def _time_selector(elm: ElmNode, compiler: Compiler) -> Evaluator:
    evaluators, literals = _components(elm, _TIME_PARTS, compiler)
    if literals is not None and literals:
        constant = Time(*literals)
        return lambda ctx: constant

    def select(ctx: Context) -> Any:
        values = [e(ctx) for e in evaluators]
        if not values or values[0] is None:
            return None
        return Time(*values)

    return select


# The spec requires the same timestamp for the whole evaluation: all three read ctx.now.

@node("Now")
def _now(elm: ElmNode, compiler: Compiler) -> Evaluator:
    return lambda ctx: ctx.now


@node("Today")
def _today(elm: ElmNode, compiler: Compiler) -> Evaluator:
    return lambda ctx: ctx.now.to_date()


@node("TimeOfDay")
def _time_of_day(elm: ElmNode, compiler: Compiler) -> Evaluator:
    return lambda ctx: ctx.now.time()


@operator("DateFrom")
def date_from(x: Any) -> Any:
    if type(x) is DateTime:
        return x.to_date()
    return x if type(x) is Date else None


@operator("TimeFrom")
def time_from(x: Any) -> Any:
    if type(x) is DateTime:
        return x.time()
    return x if type(x) is Time else None


@operator("TimezoneOffsetFrom", "TimezoneFrom")
def timezone_offset_from(x: Any) -> Decimal | None:
    return x.offset if type(x) is DateTime else None


@operator_factory("DateTimeComponentFrom")
def _component_from(elm: ElmNode) -> Callable[[Any], Any]:
    p = _precision(elm)
    if p is Precision.WEEK:
        raise ElmError("week is not a date/time component", locator=elm.get("locator"))
    return lambda x: x.component(p)


@operator_factory("DurationBetween")
def _duration_between(elm: ElmNode) -> Callable[[Any, Any], Any]:
    p = _precision(elm)
    return lambda a, b: duration_between(a, b, p)


@operator_factory("DifferenceBetween")
def _difference_between(elm: ElmNode) -> Callable[[Any, Any], Any]:
    p = _precision(elm)
    return lambda a, b: difference_between(a, b, p)


def age_at(birth: Any, as_of: Any, p: Precision) -> Any:
    """Whole periods of ``p`` from birth to ``as_of`` (CalculateAgeAt); a birth Date is
    measured against a Date, so the time of day never counts."""
    if type(birth) is Date and type(as_of) is DateTime:
        as_of = as_of.to_date()
    return duration_between(birth, as_of, p)


@node("CalculateAge")
def _calculate_age(elm: ElmNode, compiler: Compiler) -> Evaluator:
    p = _precision(elm)
    operand = elm.get("operand")
    if isinstance(operand, list):
        operand = operand[0] if operand else None
    birth_of = compiler.compile_optional(operand)

    def age(ctx: Context) -> Any:
        birth = birth_of(ctx)
        if birth is None:
            return None
        # Today() for a birth Date, Now() for a birth DateTime (spec, CalculateAge).
        return age_at(birth, ctx.now, p)

    return age


@operator_factory("CalculateAgeAt")
def _calculate_age_at(elm: ElmNode) -> Callable[[Any, Any], Any]:
    p = _precision(elm)
    return lambda birth, as_of: age_at(birth, as_of, p)
