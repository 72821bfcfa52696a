"""Equality, equivalence, ordering, successor/predecessor and the limits of CQL values
(CQL 1.5 'Comparison Operators', 'Types'; cases from CqlComparisonOperatorsTest.xml)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trd_cds.engine.datatypes.temporal import Date, DateTime, Time
from trd_cds.engine.datatypes.values import (
    Code,
    Concept,
    CqlTuple,
    Interval,
    Quantity,
    Ratio,
    Uncertainty,
    compare,
    equal,
    equivalent,
    max_value,
    min_value,
    predecessor,
    successor,
    uncertainty_add,
    uncertainty_subtract,
)
from trd_cds.engine.errors import CqlEvaluationError

D = Decimal


def q(value: str, unit: str = "1") -> Quantity:
    return Quantity(D(value), unit)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (None, 1, None),
        (1, None, None),
        (1, 1, True),
        (1, 2, False),
        (1, D("1.0"), True),
        (D("2.0"), D("2.00"), True),
        ("a", "a", True),
        ("a", "A", False),
        (True, True, True),
        (True, 1, False),
        (1, "1", False),
        (q("1", "cm"), q("1", "cm"), True),
        (q("1", "cm"), q("0.01", "m"), True),
        (q("2.0", "cm"), q("2.00", "cm"), True),
        (q("1", "cm"), q("1", "g"), None),
        (q("1", "day"), q("1", "d"), True),
        (q("1", "week"), q("1", "wk"), True),
        (q("1", "month"), q("1", "mo"), None),
        (q("1", "year"), q("1", "a"), None),
        (q("1", "month"), q("1", "months"), True),
        (q("1", "year"), q("12", "months"), True),
        ([1, 2], [1, 2], True),
        ([1, 2], [1, 3], False),
        ([1, 2], [1, 2, 3], False),
        ([None], [None], True),
        ([1, None], [1, 2], None),
        ([1, 2, 3], ["1", "2", "3"], False),
        (CqlTuple(Id=1, Name="John"), CqlTuple(Id=2, Name=None), False),
        (CqlTuple(Id=None, Name="John"), CqlTuple(Id=1, Name="James"), None),
        (CqlTuple(Id=1, Name=None), CqlTuple(Id=1, Name=None), True),
        (CqlTuple(Id=1, Name="John"), CqlTuple(Id=1, Name=None), None),
        (Code("1", "s"), Code("1", "s"), True),
        (Code("1", "s"), Code("1", "t"), False),
        (Code("1", "s", display="x"), Code("1", "s"), None),
        (Concept((Code("1", "s"),)), Concept((Code("1", "s"),)), True),
        (Ratio(q("1", "cm"), q("2", "cm")), Ratio(q("1", "cm"), q("2", "cm")), True),
        (Ratio(q("1", "cm"), q("2", "cm")), Ratio(q("1.1", "cm"), q("2", "cm")), False),
        (Ratio(q("1", "cm"), q("2", "cm")), Ratio(q("2", "cm"), q("4", "cm")), False),
        (Interval(1, 10), Interval(1, 10), True),
        (Interval(1, 10), Interval(11, 20), False),
        (Interval(1, 10, True, False), Interval(1, 9), True),
        (Interval(0, 10, False, True), Interval(1, 10), True),
        (Interval(1, 10), Interval(None, None, False, False), None),
        (Uncertainty(1, 3), 5, False),
        (Uncertainty(1, 3), 2, None),
        (Uncertainty(2, 2), 2, True),
    ],
)
def test_equal(a: Any, b: Any, expected: bool | None) -> None:
    assert equal(a, b) is expected


def test_equal_temporal_uses_precision() -> None:
    assert equal(Date(2012, 1, 1), Date(2012, 1, 1)) is True
    assert equal(Date(2012, 1, 1), Date(2012, 1, 2)) is False
    assert equal(DateTime(2012, 1, 1), DateTime(2012, 1, 1, 10)) is None
    assert equal(Interval(Date(2012, 1, 1), Date(2012, 1, 5), True, False),
                 Interval(Date(2012, 1, 1), Date(2012, 1, 4))) is True


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (None, None, True),
        (None, 1, False),
        (1, None, False),
        ("John Smith", "john smith", True),
        ("a\tb", "A B", True),
        ("ab", "a b", False),
        (D("1.5"), D("1.51"), True),
        (D("1.50"), D("1.5"), True),
        (D("1.5"), D("1.6"), False),
        (1, D("1.4"), True),
        (1, D("1.5"), False),
        (q("1", "cm"), q("0.01", "m"), True),
        (q("1", "month"), q("1", "mo"), True),
        (q("1", "year"), q("1", "a"), True),
        (q("1", "g"), q("1", "m"), False),
        (q("1", "year"), q("365", "days"), True),
        (q("1", "month"), q("30", "d"), True),
        (q("2", "years"), q("2", "a"), True),
        (q("1", "year"), q("1", "mo"), False),
        ([1, None], [1, None], True),
        ([1, 2], [1, 2, None], False),
        (CqlTuple(Id=1, Name="John", Position=None),
         CqlTuple(Id=1, Name="John", Position=None), True),
        (Code("1", "s", "v1", "x"), Code("1", "s", "v2", "y"), True),
        (Code("1", "s"), Code("1", "t"), False),
        (Concept((Code("1", "s"), Code("2", "s"))), Concept((Code("2", "s"),)), True),
        (Concept((Code("1", "s"),)), Concept((Code("2", "s"),)), False),
        (Code("2", "s"), Concept((Code("1", "s"), Code("2", "s"))), True),
        (Ratio(q("1", "cm"), q("100", "cm")), Ratio(q("10", "cm"), q("1000", "cm")), True),
        (Ratio(q("1", "cm"), q("2", "cm")), Ratio(q("3", "cm"), q("2", "cm")), False),
        (Interval(1, 10), Interval(1, 10), True),
        (Interval(44, 50), Interval(1, 10), False),
        (Interval(None, 5, False, True), Interval(None, 5, False, True), True),
        ([1, 2, 3], ["1", "2", "3"], False),
    ],
)
def test_equivalent(a: Any, b: Any, expected: bool) -> None:
    assert equivalent(a, b) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1, 2, -1),
        (2, 1, 1),
        (1, D("1.0"), 0),
        ("abc", "abd", -1),
        (None, 1, None),
        (q("1", "m"), q("1", "cm"), 1),
        (q("1", "m"), q("10", "cm"), 1),
        (q("0", "cm"), q("-1", "cm"), 1),
        (q("1", "cm"), q("0.01", "m"), 0),
        (q("1", "g"), q("1", "m"), None),
        (q("1", "year"), q("1", "a"), None),
        (Uncertainty(1, 5), 6, -1),
        (Uncertainty(1, 5), 0, 1),
        (Uncertainty(1, 5), 3, None),
        (7, Uncertainty(1, 5), 1),
        (1, "1", None),
    ],
)
def test_compare(a: Any, b: Any, expected: int | None) -> None:
    assert compare(a, b) == expected


def test_compare_temporal() -> None:
    assert compare(Date(2012, 1, 1), Date(2012, 1, 2)) == -1
    assert compare(DateTime(2012), DateTime(2012, 5)) is None
    assert compare(Time(10), Time(11, 30)) == -1


@pytest.mark.parametrize(
    ("x", "after", "before"),
    [
        (1, 2, 0),
        (D("1.0"), D("1.00000001"), D("0.99999999")),
        (q("1.0", "cm"), q("1.00000001", "cm"), q("0.99999999", "cm")),
        (Date(2012, 2, 28), Date(2012, 2, 29), Date(2012, 2, 27)),
        (Date(2012, 12), Date(2013, 1), Date(2012, 11)),
        (Date(2012), Date(2013), Date(2011)),
        (DateTime(2012, 12, 31, 23, 59, 59, 999), DateTime(2013, 1, 1, 0, 0, 0, 0),
         DateTime(2012, 12, 31, 23, 59, 59, 998)),
        (Time(10, 59, 59, 999), Time(11, 0, 0, 0), Time(10, 59, 59, 998)),
        (Time(10, 59), Time(11, 0), Time(10, 58)),
        (Time(0), Time(1), None),
    ],
)
def test_successor_and_predecessor(x: Any, after: Any, before: Any) -> None:
    assert equal(successor(x), after) is True
    if before is None:
        with pytest.raises(CqlEvaluationError):
            predecessor(x)
    else:
        assert equal(predecessor(x), before) is True


@pytest.mark.parametrize(
    "x",
    [2147483647, D("99999999999999999999.99999999"), Date(9999, 12, 31), Date(9999, 12),
     DateTime(9999, 12, 31, 23, 59, 59, 999), Time(23, 59, 59, 999)],
)
def test_successor_past_maximum_is_an_error(x: Any) -> None:
    with pytest.raises(CqlEvaluationError):
        successor(x)


def test_long_successor_goes_past_integer_range() -> None:
    assert successor(2147483647, "Long") == 2147483648
    assert predecessor(-2147483648, "Long") == -2147483649
    with pytest.raises(CqlEvaluationError):
        successor(2**63 - 1, "Long")


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("Integer", -2147483648, 2147483647),
        ("{urn:hl7-org:elm-types:r1}Long", -(2**63), 2**63 - 1),
        ("Decimal", D("-99999999999999999999.99999999"), D("99999999999999999999.99999999")),
        ("Date", Date(1, 1, 1), Date(9999, 12, 31)),
        ("DateTime", DateTime(1, 1, 1, 0, 0, 0, 0), DateTime(9999, 12, 31, 23, 59, 59, 999)),
        ("System.Time", Time(0, 0, 0, 0), Time(23, 59, 59, 999)),
    ],
)
def test_min_and_max_values(name: str, low: Any, high: Any) -> None:
    assert equal(min_value(name), low) is True
    assert equal(max_value(name), high) is True


def test_quantity_limits_carry_the_unit() -> None:
    assert max_value("Quantity", "mg") == Quantity(D("99999999999999999999.99999999"), "mg")


def test_min_value_of_string_is_an_error() -> None:
    with pytest.raises(CqlEvaluationError):
        min_value("String")


def test_uncertainty_arithmetic() -> None:
    assert uncertainty_add(Uncertainty(1, 3), 2) == Uncertainty(3, 5)
    assert uncertainty_subtract(Uncertainty(10, 12), Uncertainty(1, 2)) == Uncertainty(8, 11)
    assert uncertainty_add(Uncertainty(1, 1), 1) == 2
    assert uncertainty_add(None, 1) is None


def test_closed_null_bounds_are_the_limits_of_the_point_type() -> None:
    from trd_cds.engine.datatypes.values import interval_end, interval_start

    assert interval_start(Interval(None, 5, point_type="{urn:hl7-org:elm-types:r1}Integer")) \
        == -2147483648
    # A model type says nothing usable: the other bound's type decides.
    iv = Interval(None, Date(2024, 1, 1), point_type="{http://hl7.org/fhir}date")
    assert equal(interval_start(iv), Date(1, 1, 1)) is True
    assert interval_end(Interval(None, None, point_type="{http://hl7.org/fhir}date")) is None
    assert interval_end(Interval("a", None)) is None
