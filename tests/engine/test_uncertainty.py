"""Uncertainty (CQL 1.5, 5 Language Semantics, 'Precision-Based Timing: Uncertainty'): an
Integer known only to lie in [low, high], e.g. a duration between dates of different
precision. Every operator family that can meet one, end to end from CQL and per operator,
plus a property test that a result range holds the results over every definite value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cql_translate import needs_translator, translate
from elm_stubs import SYSTEM, Stub, const
from hypothesis import given, settings
from hypothesis import strategies as st

from trd_cds.engine import Engine
from trd_cds.engine.datatypes import values
from trd_cds.engine.datatypes.temporal import Date, DateTime
from trd_cds.engine.datatypes.values import CqlTuple, Interval, Quantity, Uncertainty
from trd_cds.engine.encoding import encode
from trd_cds.engine.errors import CqlEvaluationError
from trd_cds.engine.ops import arithmetic, conversion  # noqa: F401  (registers the nodes)
from trd_cds.engine.ops.aggregate import aggregate_function
from trd_cds.engine.ops.list import sort_values
from trd_cds.engine.runtime.context import Context
from trd_cds.engine.runtime.registry import ElmNode

D = Decimal
NOW = DateTime(2024, 3, 1, 0, 0, 0, 0, Decimal(0))

# months between @2012 and @2013-03 is somewhere in [2, 14]; days between @2014-01-15 and
# @2014-02 in [17, 44] (the spec's own example).
LIB = """library UncertaintyTest version '1.0.0'

define U: months between @2012 and @2013-03
define V: days between @2014-01-15 and @2014-02
define "Plus Decimal": U + 0.5
define "Divided": U / 2
define "Divided By Uncertain": V / U
define "Divided By Zero Range": U / (U - 3)
define "Negated": -U
define "Absolute": Abs(U - 5)
define "Next": successor of U
define "Previous": predecessor of U
define "Times Days": U * 2 'd'
define "As Decimal": ToDecimal(U)
define "As Long": ToLong(U)
define "As Quantity": ToQuantity(U)
define "As String": ToString(U)
define "Rounded": Round(U / 3)
define "Floored": Floor(U / 3)
define "Sum": Sum({ U, 1 })
define "Max": Max({ U, 5 })
define "Min": Min({ U, 5 })
define "Avg": Avg({ U, 4 })
define "Median": Median({ U, 4, 100 })
define "Product": Product({ U, -1 })
define "Variance": Variance({ U, 4 })
define "Sorted": ({ 20, U, 1 }) X sort asc
define "Sorted Desc": ({ 20, U, 1 }) X sort desc
define "Coalesced": Coalesce(null, U)
define "Chosen": if U > 1 then U else 0
define "Not Equal": U = 20
define "Equal Unknown": U = 5
define "Within": Interval[0, U] contains 1
define "Beyond": Interval[U, 20] contains 1
define "Unknown Member": Interval[0, U] contains 5
define "Age Decimal": (years between @1980 and @2024-03-01) / 2
define "Div": U div 2
define "Mod": U mod 5
define "Wrapped": { U }
define "In Tuple": Tuple { span: U }
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_elm(translate(LIB))


def value(engine: Engine, name: str) -> Any:
    return engine.evaluate("UncertaintyTest", now=NOW, expressions=[name])[name]


def U(low: Any, high: Any) -> Uncertainty:
    return Uncertainty(low, high)


EXPECTED: dict[str, Any] = {
    "U": U(2, 14),
    "V": U(17, 44),
    "Plus Decimal": U(D("2.5"), D("14.5")),
    "Divided": U(D(1), D(7)),
    # [17, 44] / [2, 14]: the smallest quotient is 17 / 14, the largest 44 / 2.
    "Divided By Uncertain": U(D("1.21428571"), D(22)),
    # The divisor [-1, 11] holds 0: no bound exists.
    "Divided By Zero Range": None,
    "Negated": U(-14, -2),
    "Absolute": U(0, 9),
    "Next": U(3, 15),
    "Previous": U(1, 13),
    "Times Days": U(Quantity(D(4), "d"), Quantity(D(28), "d")),
    "As Decimal": U(D(2), D(14)),
    "As Long": U(2, 14),
    "As Quantity": U(Quantity(D(2), "1"), Quantity(D(14), "1")),
    "As String": None,
    "Rounded": U(D(1), D(5)),
    "Floored": U(0, 4),
    "Sum": U(3, 15),
    "Max": U(5, 14),
    "Min": U(2, 5),
    "Avg": U(D(3), D(9)),
    "Median": U(D(4), D(14)),
    "Product": U(-14, -2),
    "Variance": None,
    "Sorted": [1, U(2, 14), 20],
    "Sorted Desc": [20, U(2, 14), 1],
    "Coalesced": U(2, 14),
    "Chosen": U(2, 14),
    "Not Equal": False,
    "Equal Unknown": None,
    "Within": True,
    "Beyond": False,
    "Unknown Member": None,
    "Age Decimal": U(D(21.5), D(22)),
    "Wrapped": [U(2, 14)],
    "In Tuple": CqlTuple(span=U(2, 14)),
}


def same(actual: Any, expected: Any) -> bool:
    """Equal and of the same Python types, bounds included (2 is not 2.0)."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, Uncertainty):
        return same(actual.low, expected.low) and same(actual.high, expected.high)
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(expected, CqlTuple):
        return set(actual) == set(expected) and all(same(actual[k], expected[k]) for k in expected)
    return bool(actual == expected)


@needs_translator
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_define(engine: Engine, name: str) -> None:
    got = value(engine, name)
    assert same(got, EXPECTED[name]), f"{name}: got {got!r}, expected {EXPECTED[name]!r}"


@needs_translator
@pytest.mark.parametrize("name", ["Div", "Mod"])
def test_div_and_mod_of_an_uncertainty_are_errors(engine: Engine, name: str) -> None:
    # The spec defines =, <, >, <=, >=, +, -, unary -, * and / for uncertainties; the HL7
    # suite expects `div` of two uncertainties to be an error (DateTimeDurationBetweenUncertainDiv).
    with pytest.raises(CqlEvaluationError, match="uncertain"):
        value(engine, name)


# --- per operator -----------------------------------------------------------------------------


def run(kind: str, *operands: Any, rt: str | None = None) -> Any:
    node: ElmNode = {"type": kind}
    node["operand"] = const(operands[0]) if len(operands) == 1 else [const(o) for o in operands]
    if rt is not None:
        node["resultTypeName"] = SYSTEM + rt
    return Stub().compile(node)(Context(now=NOW))


class TestArithmetic:
    def test_integer_overflow_of_a_bound_is_null(self) -> None:
        assert run("Add", U(1, 2147483647), 1, rt="Integer") is None
        assert run("Add", U(1, 2147483647), 1, rt="Long") == U(2, 2147483648)

    def test_decimal_operations(self) -> None:
        assert run("Subtract", D(10), U(D(1), D(3)), rt="Decimal") == U(D(7), D(9))
        assert run("Multiply", U(D(-1), D(2)), U(D(-3), D(4)), rt="Decimal") == U(D(-6), D(8))

    def test_a_width_zero_uncertainty_is_the_point(self) -> None:
        assert run("Subtract", U(3, 5), U(0, 2), rt="Integer") == U(1, 5)
        assert same(run("Multiply", U(3, 3), 2, rt="Integer"), 6)

    def test_negate_and_abs(self) -> None:
        assert run("Negate", U(-3, 5), rt="Integer") == U(-5, 3)
        assert run("Abs", U(-7, -2), rt="Integer") == U(2, 7)
        assert run("Abs", U(D(-1), D(3)), rt="Decimal") == U(D(0), D(3))

    def test_successor_past_the_maximum_is_an_error(self) -> None:
        with pytest.raises(CqlEvaluationError):
            run("Successor", U(1, 2147483647), rt="Integer")

    def test_quantity_sum(self) -> None:
        got = run("Add", U(Quantity(D(1), "d"), Quantity(D(2), "d")), Quantity(D(1), "wk"),
                  rt="Quantity")
        assert got == U(Quantity(D(8), "d"), Quantity(D(9), "d"))


class TestConversions:
    def test_to_decimal_and_back(self) -> None:
        assert run("ToDecimal", U(1, 3)) == U(D(1), D(3))
        assert run("ToInteger", U(1, 3)) == U(1, 3)
        assert run("ToLong", U(1, 3)) == U(1, 3)

    def test_to_integer_out_of_range_is_null(self) -> None:
        assert run("ToInteger", U(1, 2**40)) is None

    def test_no_text_or_boolean_for_an_uncertain_number(self) -> None:
        assert run("ToString", U(1, 3)) is None
        assert run("ToBoolean", U(0, 1)) is None


class TestAggregates:
    def test_sum_of_integers_overflows_to_null(self) -> None:
        assert aggregate_function("Sum", "Integer")([U(1, 2147483647), 1]) is None

    def test_min_and_max_of_only_uncertainties(self) -> None:
        items = [U(3, 9), U(1, 12), U(4, 5)]
        assert aggregate_function("Min")(items) == U(1, 5)
        assert aggregate_function("Max")(items) == U(4, 12)

    def test_min_and_max_of_definite_values_are_unchanged(self) -> None:
        assert same(aggregate_function("Max")([1, 7, 3]), 7)
        assert same(aggregate_function("Min")([D(2), D(1)]), D(1))

    def test_avg_of_decimals(self) -> None:
        assert aggregate_function("Avg")([U(D(1), D(3)), D(5)]) == U(D(3), D(4))


def test_sort_is_a_total_order_over_overlapping_ranges() -> None:
    items = [U(5, 9), 6, U(1, 20), U(5, 7), None, 4]
    once = sort_values(items)
    assert once[0] is None
    assert sort_values(list(reversed(items))) == once
    assert once == [None, U(1, 20), 4, U(5, 7), U(5, 9), 6]


def test_successor_of_an_uncertain_interval_bound() -> None:
    iv = Interval(U(2, 5), 10, low_closed=False)
    assert values.interval_start(iv) == U(3, 6)


class TestEncoding:
    def test_bounds_are_encoded_like_the_point_type(self) -> None:
        assert encode(U(D(1), D("2.5"))) == {"type": "Uncertainty", "low": 1.0, "high": 2.5}
        assert encode(U(Quantity(D(2), "d"), Quantity(D(4), "d"))) == {
            "type": "Uncertainty",
            "low": {"type": "Quantity", "value": 2.0, "unit": "d"},
            "high": {"type": "Quantity", "value": 4.0, "unit": "d"},
        }

    def test_nested_in_lists_tuples_and_intervals(self) -> None:
        form = {"type": "Uncertainty", "low": 2, "high": 14}
        assert encode([U(2, 14)]) == [form]
        assert encode(CqlTuple(m=U(2, 14))) == {"m": form}
        assert encode(Interval(0, U(2, 14)))["high"] == form

    def test_a_point_is_written_as_the_value(self) -> None:
        assert encode(U(D(3), D("3.000"))) == 3.0


# --- extreme dates ----------------------------------------------------------------------------

EXTREMES = """library ExtremeDates version '1.0.0'

define "Past The End": @9999-12-31 + 1 day
define "Before The Start": @0001-01-01 - 1 year
define "DateTime Past The End": @9999-12-31T23:00:00.000Z + 2 hours
define "Month Before The Start": DateTime(1, 1) - 1 month
define "At The End": @9999-12-30 + 1 day
define "Span": days between @0001-01-01 and @9999-12-31
define "Age": years between @0001-01-01 and @2024-03-01
define "Open Window": Interval[@0001-01-01, @9999-12-31] overlaps Interval[@2024-01-01, @2024-02-01]
define "Shifted Window": Interval[@9999-12-31 - 14 days, @9999-12-31 + 14 days]
define "Far Offset": @9999-12-31T23:30:00.000-05:00 same day as @9999-12-31
"""


@pytest.fixture(scope="module")
def extremes() -> Engine:
    return Engine.from_elm(translate(EXTREMES))


@needs_translator
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Past The End", None),
        ("Before The Start", None),
        ("DateTime Past The End", None),
        ("Month Before The Start", None),
        ("At The End", Date(9999, 12, 31)),
        ("Span", 3652058),
        ("Age", 2023),
        ("Open Window", True),
        ("Shifted Window", Interval(Date(9999, 12, 17), None)),
        ("Far Offset", True),
    ],
)
def test_extreme_dates_never_raise(extremes: Engine, name: str, expected: Any) -> None:
    got = extremes.evaluate("ExtremeDates", now=NOW, expressions=[name])[name]
    assert got == expected


# --- property: the range holds every definite result ------------------------------------------

bounds = st.tuples(st.integers(-60, 60), st.integers(0, 40)).map(lambda t: (t[0], t[0] + t[1]))

# +, -, * and / are monotone in each operand on a range that excludes a pole (/ by a divisor
# range holding 0 is null), unary - and Abs are monotone on each side of 0: their exact range
# is reached at the bounds, so every definite result must lie inside.
BINARY = [("Add", "Integer"), ("Subtract", "Integer"), ("Multiply", "Integer"),
          ("Divide", "Decimal")]


def _points(b: tuple[int, int]) -> list[int]:
    lo, hi = b
    return sorted({lo, hi, (lo + hi) // 2, min(hi, lo + 1), max(lo, hi - 1)})


def _inside(result: Any, definite: Any) -> bool:
    lo, hi = values.uncertainty_bounds(result)
    return bool(lo <= definite <= hi)


@settings(max_examples=150, deadline=None)
@given(a=bounds, b=bounds, op=st.sampled_from(BINARY))
def test_binary_result_holds_every_definite_result(
    a: tuple[int, int], b: tuple[int, int], op: tuple[str, str]
) -> None:
    kind, rt = op
    wrap = (lambda x: Decimal(x)) if rt == "Decimal" else (lambda x: x)
    result = run(kind, U(wrap(a[0]), wrap(a[1])), U(wrap(b[0]), wrap(b[1])), rt=rt)
    if kind == "Divide" and b[0] <= 0 <= b[1]:
        assert result is None
        return
    for x in _points(a):
        for y in _points(b):
            definite = run(kind, wrap(x), wrap(y), rt=rt)
            assert _inside(result, definite), (kind, a, b, x, y, result, definite)
    # Tight: the bounds themselves are reached by some pair of bound values.
    lo, hi = values.uncertainty_bounds(result)
    corners = [run(kind, wrap(x), wrap(y), rt=rt) for x in a for y in b]
    assert lo == min(corners) and hi == max(corners)


@settings(max_examples=100, deadline=None)
@given(a=bounds, op=st.sampled_from(["Negate", "Abs", "Successor", "Predecessor"]))
def test_unary_result_holds_every_definite_result(a: tuple[int, int], op: str) -> None:
    result = run(op, U(a[0], a[1]), rt="Integer")
    for x in range(a[0], a[1] + 1):
        assert _inside(result, run(op, x, rt="Integer"))
