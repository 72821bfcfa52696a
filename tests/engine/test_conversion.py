"""Type conversion operators: the conversion tables of the CQL reference ("Type Operators"),
cases from CqlTypeOperatorsTest.xml, and CQL through the whole engine."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cql_translate import needs_translator, translate
from elm_stubs import SYSTEM, Stub, const

from trd_cds.engine import Engine
from trd_cds.engine.datatypes.temporal import Date, DateTime, Time
from trd_cds.engine.datatypes.values import Code, Concept, Quantity, Ratio
from trd_cds.engine.errors import ElmError
from trd_cds.engine.ops import conversion
from trd_cds.engine.ops.conversion import (
    convert_quantity,
    to_boolean,
    to_concept,
    to_date,
    to_datetime,
    to_decimal,
    to_integer,
    to_long,
    to_quantity,
    to_ratio,
    to_string,
    to_time,
)
from trd_cds.engine.runtime.context import Context
from trd_cds.engine.runtime.registry import NODES, ElmNode

D = Decimal


def same(actual: Any, expected: Any) -> bool:
    """Value and Python type (an Integer result is not a Decimal, True is not 1)."""
    return type(actual) is type(expected) and actual == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("T", True), ("Yes", True), ("y", True), ("1", True), ("TRUE", True),
    ("false", False), ("f", False), ("NO", False), ("n", False), ("0", False),
    ("", None), ("maybe", None), ("2", None), (" true", None), ("yes please", None),
])
def test_to_boolean_from_strings(text: str, expected: bool | None) -> None:
    assert to_boolean(text) is expected


def test_to_boolean_from_numbers() -> None:
    assert to_boolean(1) is True and to_boolean(0) is False and to_boolean(2) is None
    assert to_boolean(D("1.0")) is True and to_boolean(D("0.0")) is False
    assert to_boolean(D("0.5")) is None
    assert to_boolean(True) is True
    assert to_boolean(Date(2024)) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("-25", -25), ("+1", 1), ("0", 0), ("2147483647", 2147483647), ("-2147483648", -2147483648),
    ("2147483648", None), ("1.0", None), ("1e3", None), ("", None), ("+", None), ("foo", None),
    (" 1", None), ("1_000", None), ("\u0661", None),
])
def test_to_integer_from_strings(text: str, expected: int | None) -> None:
    assert to_integer(text) == expected


def test_to_integer_and_long_from_other_types() -> None:
    assert same(to_integer(True), 1) and same(to_integer(False), 0)
    assert to_integer(2**31) is None  # a Long out of Integer range
    assert to_integer(D("1.0")) is None  # no ToInteger(Decimal) in CQL
    assert same(to_long("9223372036854775807"), 2**63 - 1)
    assert to_long("9223372036854775808") is None
    assert same(to_long(5), 5) and same(to_long(True), 1)


@pytest.mark.parametrize(("text", "expected"), [
    ("+25.5", D("25.5")), ("-1.5", D("-1.5")), ("42", D("42")), ("0.00000001", D("1E-8")),
    ("1.123456789", D("1.12345679")),  # rounded to 8 places
    ("-25.50", D("-25.50")),
    ("10000000000000000000000000000", None),  # out of range
    ("1e3", None), ("1.", None), (".5", None), ("1.2.3", None), ("NaN", None), ("", None),
    ("- 1", None), ("Infinity", None),
])
def test_to_decimal_from_strings(text: str, expected: Decimal | None) -> None:
    assert to_decimal(text) == expected


def test_to_decimal_from_other_types() -> None:
    assert same(to_decimal(5), D(5))
    assert same(to_decimal(True), D("1.0"))
    assert same(to_decimal(D("2.50")), D("2.50"))
    assert to_decimal(Quantity(D(1), "mg")) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("5.5 'cm'", Quantity(D("5.5"), "cm")),
    ("5.5'cm'", Quantity(D("5.5"), "cm")),
    ("-2 'mg/dL'", Quantity(D("-2"), "mg/dL")),
    ("10", Quantity(D("10"), "1")),
    ("3 days", Quantity(D("3"), "days")),
    ("3 'd'", Quantity(D("3"), "d")),
    ("5.5 'cm", None), ("5.5 cm", None), ("abc 'cm'", None), ("5 'not a unit'", None),
    ("5 ''", None), ("", None),
])
def test_to_quantity_from_strings(text: str, expected: Quantity | None) -> None:
    assert to_quantity(text) == expected


def test_to_quantity_from_numbers_and_to_ratio() -> None:
    assert to_quantity(5) == Quantity(D(5), "1")
    assert to_quantity(D("1.5")) == Quantity(D("1.5"), "1")
    assert to_ratio("1.0 'mg':2.0 'mg'") == Ratio(Quantity(D("1.0"), "mg"), Quantity(D("2.0"), "mg"))
    assert to_ratio("1:128") == Ratio(Quantity(D(1), "1"), Quantity(D(128), "1"))
    assert to_ratio("1:2:3") is None
    assert to_ratio("1 'mg'") is None


@pytest.mark.parametrize(("value", "expected"), [
    (True, "true"), (False, "false"), (-5, "-5"), (D("18.55"), "18.55"), (D("5.0"), "5.0"),
    (D("1E+2"), "100"), (D("1E-8"), "0.00000001"),
    (Quantity(D("5.5"), "cm"), "5.5 'cm'"),
    (Ratio(Quantity(D(1), "mg"), Quantity(D(2), "mL")), "1 'mg':2 'mL'"),
    (Date(2014, 1), "2014-01"),
    (DateTime(2014, 1, 1, 12, 5, 5, 955, D(-1.25)), "2014-01-01T12:05:05.955-01:15"),
    (DateTime(2014, 1, 1), "2014-01-01"),
    (Time(14, 30, 0, 0), "14:30:00.000"),
    ("text", "text"),
    (Code("1"), None),
])
def test_to_string(value: Any, expected: str | None) -> None:
    assert to_string(value) == expected


def test_temporal_conversions() -> None:
    assert to_date("2014-01-01") == Date(2014, 1, 1)
    assert to_date("2014/01/01") is None
    assert to_date(DateTime(2014, 1, 1, 10)) == Date(2014, 1, 1)
    assert to_datetime("2014-01-01", D(-5)) == DateTime(2014, 1, 1, offset=D(-5))
    assert to_datetime("2014-01-01T12:05:05.955Z", D(-5)) == DateTime(2014, 1, 1, 12, 5, 5, 955,
                                                                       D(0))
    assert to_datetime("2014/01/01T12:05:05.955Z", None) is None
    from_date = to_datetime(Date(2014, 1, 1), D(2))
    assert from_date is not None and from_date.hour is None and from_date.offset == D(2)
    assert to_time("T14:30:00.0") == Time(14, 30, 0, 0)
    assert to_time("T14:30:00.0-05:45") == Time(14, 30, 0, 0)
    assert to_time("T14-30-00.0") is None
    assert to_time(DateTime(2014)) is None


def test_to_concept() -> None:
    code = Code("8480-6", "http://loinc.org")
    assert to_concept(code) == Concept((code,))
    other = Code("2", "s")
    assert to_concept([code, None, other]) == Concept((code, other))
    assert to_concept([]) is None
    assert to_concept("8480-6") is None


def test_convert_quantity() -> None:
    assert convert_quantity(Quantity(D(5), "mg"), "g") == Quantity(D("0.005"), "g")
    assert convert_quantity(Quantity(D(1), "kg"), "[lb_av]") is not None
    assert convert_quantity(Quantity(D(5), "mg"), "m") is None
    assert convert_quantity(Quantity(D(5), "mg"), "not a unit") is None
    assert convert_quantity(Quantity(D(2), "weeks"), "d") == Quantity(D(14), "d")


# --- the ELM nodes -------------------------------------------------------------------------------


def run(node: ElmNode) -> Any:
    assert conversion is not None  # the module registers the node types when imported
    return NODES[node["type"]](node, Stub())(Context(now=DateTime(2024, 1, 1, 0, offset=D(3))))


def op(kind: str, *operands: Any, **attrs: Any) -> Any:
    nodes = [const(v) for v in operands]
    return run({"type": kind, "operand": nodes[0] if len(nodes) == 1 else nodes, **attrs})


def test_nodes_propagate_null() -> None:
    for kind in ("ToBoolean", "ToInteger", "ToDecimal", "ToString", "ToDateTime", "ToConcept",
                 "ConvertsToInteger", "ConvertsToDateTime"):
        assert op(kind, None) is None, kind
    assert op("ConvertQuantity", Quantity(D(1), "g"), None) is None


def test_converts_to_nodes() -> None:
    assert op("ConvertsToInteger", "12") is True
    assert op("ConvertsToInteger", "1.2") is False
    assert op("ConvertsToDecimal", "1.2") is True
    assert op("ConvertsToBoolean", "nope") is False
    assert op("ConvertsToDate", "2024-02-30") is False
    assert op("ConvertsToDateTime", "2024-02-29T10:00") is True
    assert op("ConvertsToTime", "T25:00") is False
    assert op("ConvertsToQuantity", "5 'mg'") is True
    assert op("ConvertsToRatio", "1:2") is True
    assert op("ConvertsToString", Date(2024)) is True
    assert op("ConvertsToLong", "9223372036854775808") is False
    assert op("CanConvertQuantity", Quantity(D(1), "g"), "mg") is True
    assert op("CanConvertQuantity", Quantity(D(1), "g"), "mL") is False


def test_to_datetime_node_uses_the_evaluation_offset() -> None:
    assert op("ToDateTime", Date(2014, 1, 1)).offset == D(3)
    assert op("ToDateTime", "2014-01-01T10:00").offset == D(3)


def test_convert_node_dispatches_on_the_target_type() -> None:
    assert op("Convert", 5, toType=SYSTEM + "Decimal") == D(5)
    assert op("Convert", 5, toType=SYSTEM + "String") == "5"
    assert op("Convert", "foo", toType=SYSTEM + "Integer") is None
    assert op("Convert", "2014-01-01", toType=SYSTEM + "DateTime") == DateTime(2014, 1, 1,
                                                                              offset=D(3))
    spec = {"type": "NamedTypeSpecifier", "name": SYSTEM + "Time"}
    assert op("Convert", "T14:30:00.0", toTypeSpecifier=spec) == Time(14, 30, 0, 0)
    with pytest.raises(ElmError):
        op("Convert", 5, toType=SYSTEM + "Tuple")
    with pytest.raises(ElmError):
        op("Convert", 5)


# --- through the whole engine ----------------------------------------------------------------

LIBRARY = """
library Conversions version '1.0.0'

define "Integer To Decimal": convert 5 to Decimal
define "Integer To String": convert 5 to String
define "String To Integer Error": convert 'foo' to Integer
define "String To DateTime": convert '2014-01-01' to DateTime
define "String To Time": convert 'T14:30:00.0' to Time
define "Malformed DateTime": convert '2014/01/01' to DateTime
define "No To Boolean": ToBoolean('NO')
define "To Decimal": ToDecimal('+25.5')
define "To Integer": ToInteger('-25')
define "To String Decimal": ToString(18.55)
define "To String Boolean": ToString(true)
define "To DateTime Offset": ToDateTime('2014-01-01T12:05:05.955-01:15')
define "To DateTime From Date Hour": hour from ToDateTime(@2014-01-01) is null
define "To Time Offset Dropped": ToTime('T14:30:00.0+05:30')
define "To Quantity": ToQuantity('5.5 \\'cm\\'')
define "Converts To Integer": ConvertsToInteger('1.5')
define "To Concept": ToConcept({ Code { code: '8480-6' } })
define "Converts To Date": ConvertsToDate('2024-02-29')
"""


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    engine = Engine.from_elm(translate(LIBRARY))
    return engine.evaluate("Conversions", now=DateTime(2024, 3, 1, 0, 0, 0, 0, D(0)))


@needs_translator
@pytest.mark.parametrize(("define", "expected"), [
    ("Integer To Decimal", D(5)),
    ("Integer To String", "5"),
    ("String To Integer Error", None),
    ("String To DateTime", DateTime(2014, 1, 1, offset=D(0))),
    ("String To Time", Time(14, 30, 0, 0)),
    ("Malformed DateTime", None),
    ("No To Boolean", False),
    ("To Decimal", D("25.5")),
    ("To Integer", -25),
    ("To String Decimal", "18.55"),
    ("To String Boolean", "true"),
    ("To DateTime Offset", DateTime(2014, 1, 1, 12, 5, 5, 955, D("-1.25"))),
    ("To DateTime From Date Hour", True),
    ("To Time Offset Dropped", Time(14, 30, 0, 0)),
    ("To Quantity", Quantity(D("5.5"), "cm")),
    ("Converts To Integer", False),
    ("To Concept", Concept((Code("8480-6"),))),
    ("Converts To Date", True),
])
def test_through_the_engine(results: dict[str, Any], define: str, expected: Any) -> None:
    actual = results[define]
    assert same(actual, expected), (define, actual)
