"""Type conversion operators (CQL 1.5 reference, "Type Operators"): ``ToBoolean`` …
``ToConcept``, their ``ConvertsTo…`` tests, ``ConvertQuantity``/``CanConvertQuantity`` and the
generic ``Convert`` node.

Every ``to_…`` function takes a non-null value and returns the converted value or None when
the value cannot be converted (a malformed string, a number out of range, an unsupported
source type); a conversion never raises for bad input. An Uncertainty (an Integer known
only to lie in a range, CQL 5 'Uncertainty') converts bound by bound to Integer, Long, Decimal
and Quantity, so the range survives the implicit conversions the translator inserts; it has
no single text or truth value, so ToString and ToBoolean give null. Strings follow the spec's formats:
numbers are ``(+|-)?#0(.0#)?`` without exponents, booleans are 'true', 't', 'yes', 'y', '1' /
'false', 'f', 'no', 'n', '0' in any case, dates and times are ISO 8601.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..datatypes import decimal_math as dm
from ..datatypes import ucum
from ..datatypes.temporal import Date, DateTime, Time
from ..datatypes.values import Code, Concept, Quantity, Ratio, Uncertainty, make_uncertainty
from ..errors import ElmError
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, operand_nodes, operator

if TYPE_CHECKING:
    from ..runtime.context import Context

_TRUE_STRINGS = frozenset(("true", "t", "yes", "y", "1"))
_FALSE_STRINGS = frozenset(("false", "f", "no", "n", "0"))


# --- strings to numbers ----------------------------------------------------------------------

def _is_digits(s: str) -> bool:
    return bool(s) and s.isascii() and s.isdigit()


def _parse_int(text: str) -> int | None:
    body = text[1:] if text[:1] in ("+", "-") else text
    if not _is_digits(body):
        return None
    return int(text)


def _parse_decimal(text: str) -> Decimal | None:
    body = text[1:] if text[:1] in ("+", "-") else text
    whole, dot, frac = body.partition(".")
    if not _is_digits(whole) or (dot and not _is_digits(frac)):
        return None
    try:
        return dm.decimal(Decimal(text))
    except InvalidOperation:
        return None


def _parse_quantity(text: str) -> Quantity | None:
    """'<decimal>' optionally followed by a quoted UCUM unit or a calendar duration word."""
    text = text.strip()
    quote = text.find("'")
    if quote >= 0:
        number, unit_part = text[:quote].rstrip(), text[quote:]
        if len(unit_part) < 2 or not unit_part.endswith("'") or "'" in unit_part[1:-1]:
            return None
        unit = unit_part[1:-1]
    else:
        number, _, unit = text.partition(" ")
        unit = unit.strip() or "1"
        if unit != "1" and unit not in ucum.CALENDAR_WORDS:
            return None
    value = _parse_decimal(number)
    if value is None or not unit or not ucum.is_valid(unit):
        return None
    return Quantity(value, unit)


# --- the conversions -------------------------------------------------------------------------

def to_boolean(x: Any) -> bool | None:
    t = type(x)
    if t is bool:
        return x  # type: ignore[no-any-return]
    if t is str:
        s = x.lower()
        if s in _TRUE_STRINGS:
            return True
        if s in _FALSE_STRINGS:
            return False
        return None
    if t is int or t is Decimal:
        if x == 1:
            return True
        if x == 0:
            return False
    return None


def _whole_number_converter(
    in_range: Callable[[int], int | None],
) -> Callable[[Any], int | Uncertainty | None]:
    """ToInteger and ToLong: the same conversion, checked against the type's range."""

    def convert(x: Any) -> int | Uncertainty | None:
        t = type(x)
        if t is int:
            return in_range(x)
        if t is bool:
            return 1 if x else 0
        if t is str:
            v = _parse_int(x)
            return None if v is None else in_range(v)
        if t is Uncertainty:
            return _bound_by_bound(convert, x)  # type: ignore[no-any-return]
        return None

    return convert


def _bound_by_bound(convert: Callable[[Any], Any], x: Uncertainty) -> Any:
    """An Uncertainty converted bound by bound; null when a bound does not convert."""
    if x.low is None or x.high is None:
        return None
    low, high = convert(x.low), convert(x.high)
    return None if low is None or high is None else make_uncertainty(low, high)


to_integer = _whole_number_converter(dm.int32)
to_long = _whole_number_converter(dm.int64)


def to_decimal(x: Any) -> Decimal | Uncertainty | None:
    t = type(x)
    if t is Decimal:
        return x  # type: ignore[no-any-return]
    if t is int:
        return dm.decimal(Decimal(x))
    if t is bool:
        return Decimal("1.0") if x else Decimal("0.0")
    if t is str:
        return _parse_decimal(x)
    if t is Uncertainty:
        return _bound_by_bound(to_decimal, x)  # type: ignore[no-any-return]
    return None


def to_quantity(x: Any) -> Quantity | Uncertainty | None:
    t = type(x)
    if t is Quantity:
        return x  # type: ignore[no-any-return]
    if t is Decimal:
        return Quantity(x, "1")
    if t is int:
        return Quantity(Decimal(x), "1")
    if t is str:
        return _parse_quantity(x)
    if t is Uncertainty:
        return _bound_by_bound(to_quantity, x)  # type: ignore[no-any-return]
    return None


def to_ratio(x: Any) -> Ratio | None:
    t = type(x)
    if t is Ratio:
        return x  # type: ignore[no-any-return]
    if t is str:
        parts = x.split(":")
        if len(parts) != 2:
            return None
        num = _parse_quantity(parts[0])
        den = _parse_quantity(parts[1])
        if num is None or den is None:
            return None
        return Ratio(num, den)
    return None


def _decimal_text(d: Decimal) -> str:
    # Plain notation always: 1E+2 prints as 100, never in exponent form.
    return format(d, "f")


def _quantity_text(q: Quantity) -> str | None:
    if q.value is None:
        return None
    return f"{_decimal_text(q.value)} '{q.unit}'"


def to_string(x: Any) -> str | None:
    t = type(x)
    if t is str:
        return x  # type: ignore[no-any-return]
    if t is bool:
        return "true" if x else "false"
    if t is int:
        return str(x)
    if t is Decimal:
        return _decimal_text(x)
    if t is Quantity:
        return _quantity_text(x)
    if t is Ratio:
        num = _quantity_text(x.numerator)
        den = _quantity_text(x.denominator)
        return None if num is None or den is None else f"{num}:{den}"
    if t is Date or t is DateTime or t is Time:
        return x.iso()  # type: ignore[no-any-return]
    return None


def to_date(x: Any) -> Date | None:
    t = type(x)
    if t is Date:
        return x  # type: ignore[no-any-return]
    if t is DateTime:
        return x.to_date()  # type: ignore[no-any-return]
    if t is str:
        return Date.parse(x)
    return None


def to_datetime(x: Any, offset: Decimal | None) -> DateTime | None:
    """``offset`` is the evaluation request's: a Date or an offset-less string gets it."""
    t = type(x)
    if t is DateTime:
        return x  # type: ignore[no-any-return]
    if t is Date:
        return x.to_datetime(offset)  # type: ignore[no-any-return]
    if t is str:
        return DateTime.parse(x, offset)
    return None


def to_time(x: Any) -> Time | None:
    t = type(x)
    if t is Time:
        return x  # type: ignore[no-any-return]
    if t is str:
        return Time.parse(x)
    return None


def to_concept(x: Any) -> Concept | None:
    t = type(x)
    if t is Concept:
        return x  # type: ignore[no-any-return]
    if t is Code:
        return Concept((x,))
    if t is list:
        codes = tuple(c for c in x if type(c) is Code)
        return Concept(codes) if codes else None
    return None


def convert_quantity(q: Any, unit: Any) -> Quantity | Uncertainty | None:
    """``q`` expressed in ``unit``; None when the units are not commensurable."""
    if type(q) is Uncertainty:
        return _bound_by_bound(lambda b: convert_quantity(b, unit), q)  # type: ignore[no-any-return]
    if type(q) is not Quantity or type(unit) is not str or q.value is None:
        return None
    value = ucum.convert(q.value, q.unit, unit)
    if value is None:
        return None
    value = dm.decimal(value)
    return None if value is None else Quantity(value, unit)


# --- registration ------------------------------------------------------------------------------

_SIMPLE: dict[str, Callable[[Any], Any]] = {
    "Boolean": to_boolean,
    "Integer": to_integer,
    "Long": to_long,
    "Decimal": to_decimal,
    "Quantity": to_quantity,
    "Ratio": to_ratio,
    "String": to_string,
    "Date": to_date,
    "Time": to_time,
    "Concept": to_concept,
}

for _name, _fn in _SIMPLE.items():
    operator(f"To{_name}")(_fn)
    if _name != "Concept":
        operator(f"ConvertsTo{_name}")(
            lambda x, _f=_fn: _f(x) is not None)


def _unary_with_now(elm: ElmNode, compiler: Compiler,
                    fn: Callable[[Any, Decimal | None], Any]) -> Evaluator:
    (operand,) = operand_nodes(elm)
    arg = compiler.compile(operand)

    def run(ctx: Context) -> Any:
        x = arg(ctx)
        return None if x is None else fn(x, ctx.now.offset)

    return run


@node("ToDateTime")
def _to_datetime(elm: ElmNode, compiler: Compiler) -> Evaluator:
    return _unary_with_now(elm, compiler, to_datetime)


@node("ConvertsToDateTime")
def _converts_to_datetime(elm: ElmNode, compiler: Compiler) -> Evaluator:
    return _unary_with_now(elm, compiler, lambda x, off: to_datetime(x, off) is not None)


@operator("ConvertQuantity")
def _convert_quantity(q: Any, unit: Any) -> Quantity | Uncertainty | None:
    return convert_quantity(q, unit)


@operator("CanConvertQuantity")
def _can_convert_quantity(q: Any, unit: Any) -> bool:
    return convert_quantity(q, unit) is not None


def _target_type(elm: ElmNode) -> str:
    spec = elm.get("toTypeSpecifier")
    name = elm.get("toType")
    if name is None and isinstance(spec, dict):
        name = spec.get("name")
    if not isinstance(name, str):
        raise ElmError("Convert needs a named target type", locator=elm.get("locator"))
    return name.rsplit("}", 1)[-1].rsplit(".", 1)[-1]


@node("Convert")
def _convert(elm: ElmNode, compiler: Compiler) -> Evaluator:
    # The target type is fixed by the ELM: choose the To… function once, here.
    target = _target_type(elm)
    if target == "DateTime":
        return _unary_with_now(elm, compiler, to_datetime)
    fn = _SIMPLE.get(target)
    if fn is None:
        raise ElmError(f"no conversion to {target}", locator=elm.get("locator"))
    (operand,) = operand_nodes(elm)
    arg = compiler.compile(operand)

    def run(ctx: Context) -> Any:
        x = arg(ctx)
        return None if x is None else fn(x)

    return run
