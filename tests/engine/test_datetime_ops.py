"""Date and time operators: ELM nodes as the translator emits them (compiled by themselves), and
CQL through the whole engine. Cases from CqlDateTimeOperatorsTest.xml and the CQL reference."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cql_translate import needs_translator, translate
from elm_stubs import SYSTEM, Stub, const

from trd_cds.engine import Engine
from trd_cds.engine.datatypes.temporal import Date, DateTime, Time
from trd_cds.engine.datatypes.values import Uncertainty
from trd_cds.engine.errors import CqlEvaluationError, ElmError
from trd_cds.engine.ops import datetime as datetime_ops  # noqa: F401  (registers the nodes)
from trd_cds.engine.runtime.context import Context
from trd_cds.engine.runtime.registry import ElmNode

D = Decimal
NOW = DateTime(2024, 3, 1, 9, 30, 15, 250, D(-5))


def literal(value: int) -> ElmNode:
    return {"type": "Literal", "valueType": SYSTEM + "Integer", "value": str(value)}


def run(node: ElmNode, now: DateTime = NOW) -> Any:
    return Stub().compile(node)(Context(now=now))


def unary(kind: str, operand: Any, **attrs: Any) -> Any:
    return run({"type": kind, "operand": const(operand), **attrs})


def binary(kind: str, a: Any, b: Any, **attrs: Any) -> Any:
    return run({"type": kind, "operand": [const(a), const(b)], **attrs})


# --- selectors -------------------------------------------------------------------------------

def test_datetime_selector_takes_the_evaluation_offset() -> None:
    value = run({"type": "DateTime", "year": const(2003), "month": const(10), "day": const(29),
                 "hour": const(20)})
    assert value == DateTime(2003, 10, 29, 20, offset=D(-5))
    explicit = run({"type": "DateTime", "year": const(2017), "month": const(3), "day": const(12),
                    "hour": const(1), "minute": const(0), "second": const(0),
                    "millisecond": const(0), "timezoneOffset": const(D("-7.0"))})
    assert explicit.iso() == "2017-03-12T01:00:00.000-07:00"


def test_literal_selectors_are_folded_but_still_stamped_per_evaluation() -> None:
    node = {"type": "DateTime", "year": literal(2014), "month": literal(1), "day": literal(1),
            "hour": literal(10)}
    evaluator = Stub().compile(node)
    assert evaluator(Context(now=NOW)).offset == D(-5)
    assert evaluator(Context(now=DateTime(2024, 1, 1, 0, offset=D(2)))).offset == D(2)
    assert evaluator(Context(now=NOW)) is evaluator(Context(now=NOW))
    with pytest.raises(CqlEvaluationError):
        Stub().compile({"type": "DateTime", "year": literal(10000)})


def test_selectors_with_null_and_bad_components() -> None:
    assert run({"type": "DateTime", "year": const(None)}) is None
    assert run({"type": "DateTime", "year": const(2001), "month": const(1), "day": const(1),
                "hour": const(None)}) == DateTime(2001, 1, 1, offset=D(-5))
    with pytest.raises(CqlEvaluationError):
        run({"type": "DateTime", "year": const(0), "month": const(1), "day": const(1)})
    with pytest.raises(CqlEvaluationError):
        run({"type": "Date", "year": const(2001), "month": const(None), "day": const(1)})
    assert run({"type": "Date", "year": const(2014), "month": const(6)}) == Date(2014, 6)
    assert run({"type": "Date", "year": literal(2014)}) == Date(2014)
    assert run({"type": "Time", "hour": const(12), "minute": const(30)}) == Time(12, 30)
    assert run({"type": "Time", "hour": literal(23), "minute": literal(59)}) == Time(23, 59)
    assert run({"type": "Time", "hour": const(None)}) is None
    with pytest.raises(CqlEvaluationError):
        run({"type": "Time", "hour": const(24)})


# --- the evaluation clock --------------------------------------------------------------------

def test_now_today_time_of_day_come_from_the_context() -> None:
    assert run({"type": "Now"}) is NOW
    assert run({"type": "Today"}) == Date(2024, 3, 1)
    assert run({"type": "TimeOfDay"}) == Time(9, 30, 15, 250)


# --- components ------------------------------------------------------------------------------

def test_component_extraction() -> None:
    value = DateTime(2003, 10, 29, 20, 50, 33, 955, D(1))
    for precision, expected in [("Year", 2003), ("Month", 10), ("Day", 29), ("Hour", 20),
                                ("Minute", 50), ("Second", 33), ("Millisecond", 955)]:
        assert unary("DateTimeComponentFrom", value, precision=precision) == expected
    assert unary("DateTimeComponentFrom", DateTime(2003, 10), precision="Day") is None
    assert unary("DateTimeComponentFrom", Date(2003, 1, 29), precision="Month") == 1
    assert unary("DateTimeComponentFrom", Time(23, 20, 15, 555), precision="Millisecond") == 555
    assert unary("DateTimeComponentFrom", None, precision="Year") is None
    assert unary("TimezoneOffsetFrom", value) == D(1)
    assert unary("TimezoneOffsetFrom", DateTime(2003)) is None
    assert unary("DateFrom", value) == Date(2003, 10, 29)
    assert unary("DateFrom", DateTime(2003, 10)) == Date(2003, 10)
    assert unary("TimeFrom", value) == Time(20, 50, 33, 955)
    assert unary("TimeFrom", DateTime(2003, 10, 29)) is None
    with pytest.raises(ElmError):
        unary("DateTimeComponentFrom", value, precision="Week")
    with pytest.raises(ElmError):
        unary("DateTimeComponentFrom", value)


# --- durations, differences, ages ------------------------------------------------------------

def test_duration_and_difference_nodes() -> None:
    assert binary("DurationBetween", DateTime(2005, 5), DateTime(2010, 4), precision="Year") == 4
    assert binary("DurationBetween", DateTime(2005), DateTime(2010),
                  precision="Year") == Uncertainty(4, 5)
    assert binary("DurationBetween", Date(2012, 3, 10), None, precision="Year") is None
    assert binary("DifferenceBetween", DateTime(2000), DateTime(2005, 12), precision="Year") == 5
    assert binary("DifferenceBetween", Time(20), Time(23, 25, 15, 555), precision="Hour") == 3
    assert binary("DurationBetween", Date(2000, 10, 15), Date(2000, 10, 29),
                  precision="Week") == 2


def test_calculate_age() -> None:
    # Born 2000-03-02: not yet 24 on 2024-03-01.
    assert unary("CalculateAge", Date(2000, 3, 2), precision="Year") == 23
    assert unary("CalculateAge", Date(2000, 3, 1), precision="Year") == 24
    assert unary("CalculateAge", Date(2024, 2, 1), precision="Month") == 1
    assert unary("CalculateAge", Date(2024, 2, 1), precision="Day") == 29
    assert unary("CalculateAge", Date(2024, 2, 1), precision="Week") == 4
    assert unary("CalculateAge", None, precision="Year") is None
    # A birth DateTime is measured against Now() (09:30:15.250-05:00).
    born = DateTime(2024, 2, 29, 10, 0, 0, 0, D(-5))
    assert unary("CalculateAge", born, precision="Hour") == 23
    assert unary("CalculateAge", born, precision="Day") == 0
    # A birth year alone gives an uncertain age.
    assert unary("CalculateAge", Date(2000), precision="Year") == Uncertainty(23, 24)


def test_calculate_age_at() -> None:
    assert binary("CalculateAgeAt", Date(2000, 3, 2), Date(2024, 3, 2), precision="Year") == 24
    assert binary("CalculateAgeAt", Date(2000, 3, 2), DateTime(2024, 3, 1, 23, 59),
                  precision="Year") == 23
    assert binary("CalculateAgeAt", Date(2012, 2, 29), Date(2013, 2, 28), precision="Year") == 0
    assert binary("CalculateAgeAt", Date(2012, 2, 29), None, precision="Year") is None


# --- through the whole engine ----------------------------------------------------------------

LIBRARY = """
library DateTimeOps version '1.0.0'

define "Selector": DateTime(2003, 10, 29, 20, 50, 33, 955)
define "Selector With Offset": DateTime(2017, 3, 12, 1, 0, 0, 0, -7.0)
define "Date Selector": Date(2014, 6)
define "Time Selector": Time(12, 30)
define "Literal": @2012-03-10T10:20:00.999+07:00
define "Today": Today()
define "Now Is Stable": Now() = Now()
define "Year From": year from DateTime(2003, 10, 29)
define "Offset From": timezoneoffset from DateTime(2003, 10, 29, 20, 50, 33, 955, 1)
define "Date From": date from DateTime(2003, 10, 29, 20, 50, 33, 955, 1)
define "Time From": time from @2003-10-29T20:50:33.955
define "Years Between": years between DateTime(2005) and DateTime(2010)
define "Months Uncertain Greater": months between DateTime(2005) and DateTime(2006, 7) > 5
define "Months Uncertain Null": months between DateTime(2005) and DateTime(2006, 2) > 5
define "Days Between Offsets":
  days between @2017-03-12T00:00:00-07:00 and @2017-03-13T00:00:00-06:00
define "Difference In Days Offsets":
  difference in days between @2017-03-12T00:00:00-07:00 and @2017-03-13T00:00:00-06:00
define "Difference In Weeks": difference in weeks between @2012-03-10T22:05:09 and @2012-03-24T07:19:33
define "Same Hour Across Offsets":
  @2012-03-10T10:20:00.999+07:00 same hour as @2012-03-10T09:20:00.999+06:00
define "Same Day Null": DateTime(2014, 10) same day as DateTime(2014, 10, 12)
define "Uncertain Greater": DateTime(2014) > DateTime(2014, 2, 15)
define "Age Of": CalculateAgeInYearsAt(@2000-03-02, @2024-03-01)
define "Age In Months Of": CalculateAgeInMonthsAt(@2000-03-02, @2024-03-01)
define "Age Today": CalculateAgeInYears(@2000-03-02)
"""


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    engine = Engine.from_elm(translate(LIBRARY))
    return engine.evaluate("DateTimeOps", now=DateTime(2024, 3, 1, 0, 0, 0, 0, D(0)))


@needs_translator
@pytest.mark.parametrize(("define", "expected"), [
    ("Selector", DateTime(2003, 10, 29, 20, 50, 33, 955, D(0))),
    ("Selector With Offset", DateTime(2017, 3, 12, 1, 0, 0, 0, D(-7))),
    ("Date Selector", Date(2014, 6)),
    ("Time Selector", Time(12, 30)),
    ("Literal", DateTime(2012, 3, 10, 10, 20, 0, 999, D(7))),
    ("Today", Date(2024, 3, 1)),
    ("Now Is Stable", True),
    ("Year From", 2003),
    ("Offset From", D(1)),
    ("Date From", Date(2003, 10, 29)),
    ("Time From", Time(20, 50, 33, 955)),
    ("Years Between", Uncertainty(4, 5)),
    ("Months Uncertain Greater", True),
    ("Months Uncertain Null", None),
    ("Days Between Offsets", 0),
    ("Difference In Days Offsets", 1),
    ("Difference In Weeks", 2),
    ("Same Hour Across Offsets", True),
    ("Same Day Null", None),
    ("Uncertain Greater", None),
    ("Age Of", 23),
    ("Age In Months Of", 287),
    ("Age Today", 23),
])
def test_through_the_engine(results: dict[str, Any], define: str, expected: Any) -> None:
    actual = results[define]
    assert type(actual) is type(expected), (define, actual)
    assert actual == expected, define
