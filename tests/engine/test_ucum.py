"""UCUM parsing and conversion, with exact Decimal results."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trd_cds.engine.datatypes import ucum
from trd_cds.engine.datatypes.values import Quantity, compare


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        ("1", "cm", "m", "0.01"),
        ("1", "m", "mm", "1000"),
        ("2.5", "km", "m", "2500"),
        ("1", "[in_i]", "cm", "2.54"),
        ("1", "[ft_i]", "[in_i]", "12"),
        ("500", "mg", "g", "0.5"),
        ("1", "kg", "ug", "1000000000"),
        ("1", "[lb_av]", "kg", "0.45359237"),
        ("16", "[oz_av]", "[lb_av]", "1"),
        ("1", "L", "mL", "1000"),
        ("1", "dL", "mL", "100"),
        ("1", "L", "dm3", "1"),
        ("1", "a", "d", "365.25"),
        ("1", "mo", "d", "30.4375"),
        ("1", "wk", "h", "168"),
        ("1", "h", "s", "3600"),
        ("1", "s", "ms", "1000"),
        ("1", "g/cm3", "kg/m3", "1000"),
        ("100", "mg/dL", "g/L", "1"),
        ("1", "mg/dL", "mg/L", "10"),
        ("1", "mg/(kg.d)", "mg/kg/d", "1"),
        ("1", "cm2", "mm2", "100"),
        ("1", "m/s", "km/h", "3.6"),
        ("7", "/wk", "/d", "1"),
        ("1", "10*3/uL", "10*9/L", "1"),
        ("50", "%", "1", "0.5"),
        ("3", "{tablet}", "1", "3"),
        ("1", "mm[Hg]", "Pa", "133.322"),
        ("0", "Cel", "K", "273.15"),
        ("100", "Cel", "[degF]", "212"),
        ("1", "year", "months", "12"),
        ("2", "weeks", "d", "14"),
        ("1", "day", "h", "24"),
        ("1", "hour", "min", "60"),
        ("1", "millisecond", "ms", "1"),
    ],
)
def test_convert_exact(value: str, source: str, target: str, expected: str) -> None:
    result = ucum.convert(Decimal(value), source, target)
    assert result == Decimal(expected)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("g", "m"),
        ("mg/dL", "mg"),
        ("year", "a"),  # a calendar year is not UCUM's Julian year
        ("month", "mo"),
        ("year", "d"),
        ("kg", "unknownunit"),
        ("[IU]", "g"),
    ],
)
def test_not_convertible(source: str, target: str) -> None:
    assert ucum.convert(Decimal(1), source, target) is None


def test_calendar_units_match_definite_durations_only_loosely() -> None:
    # Equivalence approximates a year as 365 days and a month as 30 days.
    assert ucum.convert(Decimal(1), "year", "d", loose=True) == Decimal(365)
    assert ucum.convert(Decimal(2), "months", "d", loose=True) == Decimal(60)
    assert ucum.convert(Decimal(1), "year", "d") is None
    assert not ucum.comparable("year", "a")
    assert ucum.comparable("year", "a", loose=True)
    assert ucum.calendar_counterparts("years", "a")
    assert ucum.calendar_counterparts("mo", "month")
    assert not ucum.calendar_counterparts("year", "mo")


def test_non_terminating_conversion_keeps_28_digits() -> None:
    result = ucum.convert(Decimal(1), "/d", "/h")
    assert result is not None
    assert str(result).startswith("0.041666666666666666666666666")


@pytest.mark.parametrize(
    "unit", ["mg", "mg/dL", "10*3/uL", "kg.m/s2", "m2", "/d", "{tablet}", "mg{total}/d",
             "(mg/kg)/d", "[in_i]", "mm[Hg]", "1", "%", "s-1", "days"],
)
def test_valid_units(unit: str) -> None:
    assert ucum.is_valid(unit)


@pytest.mark.parametrize("unit", ["mgg", "/", "m(", "kg..m", "[in_i", "{tablet", "xyz"])
def test_invalid_units(unit: str) -> None:
    assert not ucum.is_valid(unit)


def test_prefixes_only_on_metric_units() -> None:
    assert ucum.is_valid("kg")
    assert not ucum.is_valid("k[in_i]")
    # 'cd' is candela, not centi-day
    assert ucum.convert(Decimal(1), "cd", "d") is None


@pytest.mark.parametrize(
    ("a", "b", "product"),
    [
        ("cm", "cm", "cm2"),
        ("mg/d", "d", "mg"),
        ("1", "g", "g"),
        ("m", "s-1", "m/s"),
        ("mg/kg", "kg", "mg"),
    ],
)
def test_multiply_units(a: str, b: str, product: str) -> None:
    assert ucum.multiply_units(a, b) == product


@pytest.mark.parametrize(
    ("a", "b", "quotient"),
    [
        ("g/cm3", "g/cm3", "1"),
        ("g", "cm3", "g/cm3"),
        ("mg", "d", "mg/d"),
        ("1", "d", "/d"),
        ("cm2", "cm", "cm"),
        ("g", "1", "g"),
    ],
)
def test_divide_units(a: str, b: str, quotient: str) -> None:
    assert ucum.divide_units(a, b) == quotient


def test_product_units_convert_like_their_parts() -> None:
    unit = ucum.divide_units("mg", "dL")
    assert ucum.convert(Decimal(1), unit, "g/L") == Decimal("0.01")


# --- properties -------------------------------------------------------------------------------

_FAMILIES = [
    ["ug", "mg", "g", "kg", "[lb_av]", "[oz_av]"],
    ["mm", "cm", "m", "km", "[in_i]", "[ft_i]"],
    ["uL", "mL", "dL", "L"],
    ["ms", "s", "min", "h", "d", "wk", "a", "mo", "seconds", "days", "weeks"],
    ["mg/dL", "g/L", "mg/mL", "ug/uL"],
    ["Cel", "[degF]", "K"],
]

decimals = st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False,
                       allow_infinity=False)


@st.composite
def unit_pairs(draw: st.DrawFn) -> tuple[str, str]:
    family = draw(st.sampled_from(_FAMILIES))
    return draw(st.sampled_from(family)), draw(st.sampled_from(family))


@given(unit_pairs())
def test_scale_factors_are_inverse(pair: tuple[str, str]) -> None:
    a, b = pair
    forth, back = ucum.scale_factor(a, b), ucum.scale_factor(b, a)
    if forth is None:
        # Only the offset scales (Celsius, Fahrenheit) have no plain factor.
        assert {a, b} & {"Cel", "[degF]"}
        assert ucum.comparable(a, b)
    else:
        assert back is not None and forth * back == 1


@given(decimals, decimals, unit_pairs())
def test_comparison_agrees_with_conversion(x: Decimal, y: Decimal, pair: tuple[str, str]) -> None:
    a, b = pair
    converted = ucum.convert_fraction(y, b, a)
    assert converted is not None
    expected = (x > converted) - (x < converted)
    assert compare(Quantity(x, a), Quantity(y, b)) == expected


def test_parse_cache_stays_bounded() -> None:
    for i in range(ucum._CACHE_LIMIT + 10):
        ucum.parse(f"{{note{i}}}")
    assert len(ucum._CACHE) <= ucum._CACHE_LIMIT
    assert ucum.convert(Decimal(1), "g", "mg") == Decimal(1000)


def test_pathological_units_are_rejected_not_crashing() -> None:
    assert not ucum.is_valid("(" * 5000 + "m" + ")" * 5000)
    assert not ucum.is_valid("m" * 10000)
