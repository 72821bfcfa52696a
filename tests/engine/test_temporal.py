"""CQL Date, DateTime and Time values: construction, parsing, comparison at a precision,
calendar arithmetic, durations and differences. Cases ported from the HL7 suite
(CqlDateTimeOperatorsTest.xml, CqlComparisonOperatorsTest.xml, CqlTypesTest.xml) and the CQL
reference."""

from __future__ import annotations

import datetime as pydt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trd_cds.engine.datatypes.temporal import (
    MAX_DATETIME,
    MAX_TIME,
    MIN_DATE,
    MIN_DATETIME,
    MIN_TIME,
    Date,
    DateTime,
    InvalidTemporalValue,
    Precision,
    Time,
    difference_between,
    duration_between,
)
from trd_cds.engine.datatypes.values import Quantity, Uncertainty
from trd_cds.engine.errors import CqlEvaluationError

D = Decimal
P = Precision


def q(value: str | int, unit: str) -> Quantity:
    return Quantity(D(value), unit)


def dt(text: str) -> DateTime:
    value = DateTime.parse(text)
    assert value is not None, text
    return value


# --- construction and validation -------------------------------------------------------------

@pytest.mark.parametrize("args", [
    (2024, 2, 29), (2000, 2, 29), (2023, 12, 31), (1, 1, 1), (9999, 12, 31), (2024,), (2024, 7),
])
def test_valid_dates(args: tuple[int, ...]) -> None:
    assert Date(*args).iso().startswith(f"{args[0]:04d}")


@pytest.mark.parametrize("args", [
    (2023, 2, 29),  # not a leap year
    (1900, 2, 29),  # divisible by 100, not by 400
    (2024, 4, 31),
    (2024, 13),
    (2024, 0),
    (0, 1, 1),
    (10000, 1, 1),
    (2024, None, 1),  # a gap in the components
])
def test_invalid_dates(args: tuple[int | None, ...]) -> None:
    with pytest.raises(InvalidTemporalValue):
        Date(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [
    (10000, 12, 31, 23, 59, 59, 999),  # DateTimeUpperBoundExcept
    (0, 1, 1, 0, 0, 0, 0),  # DateTimeLowerBoundExcept
    (2024, 1, 1, 24),
    (2024, 1, 1, 23, 60),
    (2024, 1, 1, 23, 59, 60),
    (2024, 1, 1, 23, 59, 59, 1000),
    (2024, 1, 1, None, 30),
])
def test_invalid_datetimes(args: tuple[int | None, ...]) -> None:
    with pytest.raises(CqlEvaluationError):
        DateTime(*args)  # type: ignore[arg-type]


def test_invalid_times_and_offsets() -> None:
    for args in [(24,), (23, 60), (23, 59, 60), (23, 59, 59, 1000), (12, None, 30)]:
        with pytest.raises(InvalidTemporalValue):
            Time(*args)  # type: ignore[arg-type]
    with pytest.raises(InvalidTemporalValue):
        DateTime(2024, 1, 1, 10, offset=D(19))
    with pytest.raises(InvalidTemporalValue):
        Date(True)  # a Boolean is not an Integer


def test_precision_and_components() -> None:
    value = DateTime(2003, 10, 29, 20, 50, 33, 955, D(1))
    assert value.precision is P.MILLISECOND
    assert [value.component(p) for p in (P.YEAR, P.MONTH, P.DAY, P.HOUR, P.MINUTE, P.SECOND,
                                         P.MILLISECOND)] == [2003, 10, 29, 20, 50, 33, 955]
    assert value.component(P.WEEK) is None
    assert DateTime(2003, 10).precision is P.MONTH
    assert DateTime(2003, 10).component(P.DAY) is None
    assert Date(2014, 6).precision is P.MONTH
    assert Date(2014, 6).component(P.HOUR) is None
    assert Time(23, 20, 15, 555).component(P.MINUTE) == 20
    assert Time(23).precision is P.HOUR
    assert Time(23).component(P.YEAR) is None


def test_precision_names() -> None:
    assert Precision.parse("Day") is P.DAY
    assert Precision.parse("milliseconds") is P.MILLISECOND
    assert Precision.parse("mo") is P.MONTH
    assert Precision.parse("a") is P.YEAR
    assert Precision.parse("wk") is P.WEEK
    with pytest.raises(CqlEvaluationError.__mro__[1]):
        Precision.parse("fortnight")


def test_minimum_and_maximum_values() -> None:
    assert MIN_DATE.iso() == "0001-01-01"
    assert MIN_DATETIME.iso() == "0001-01-01T00:00:00.000"
    assert MAX_DATETIME.iso() == "9999-12-31T23:59:59.999"
    assert (MIN_TIME.iso(), MAX_TIME.iso()) == ("00:00:00.000", "23:59:59.999")


# --- parsing and formatting ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "iso"), [
    ("2024", "2024"),
    ("2024-03", "2024-03"),
    ("2024-03-01", "2024-03-01"),
    ("2024-03-01T", "2024-03-01"),
    ("2024-03-01T10", "2024-03-01T10"),
    ("2024-03-01T10:30", "2024-03-01T10:30"),
    ("2024-03-01T10:30:15", "2024-03-01T10:30:15"),
    ("2024-03-01T10:30:15.250", "2024-03-01T10:30:15.250"),
    ("2024-03-01T10:30:15.2", "2024-03-01T10:30:15.200"),
    ("2024-03-01T10:30:15.25099", "2024-03-01T10:30:15.250"),
    ("2014-01-01T12:05:05.955Z", "2014-01-01T12:05:05.955+00:00"),
    ("2014-01-01T12:05:05.955+01:30", "2014-01-01T12:05:05.955+01:30"),
    ("2014-01-01T12:05:05.955-01:15", "2014-01-01T12:05:05.955-01:15"),
    ("2017-03-12T01:00:00-07:00", "2017-03-12T01:00:00-07:00"),
    ("2017-03-12T01:00:00-0700", "2017-03-12T01:00:00-07:00"),
])
def test_datetime_parse_and_iso(text: str, iso: str) -> None:
    assert dt(text).iso() == iso


@pytest.mark.parametrize("text", [
    "", "2024-3-01", "2024/01/01", "2014/01/01T12:05:05.955Z", "20240301", "2024-02-30",
    "2024-03-01T25:00", "2024-03-01T10:61", "2024-03-01T10:30:15.", "2024-03-01T10:30+5:00",
    "2024-03-01T10:30+05:60", "\uff12\uff10\uff12\uff14", "2024-03T10:00", "0000-01-01", "abcd", "2024-03-01X",
])
def test_datetime_parse_rejects_bad_input(text: str) -> None:
    assert DateTime.parse(text) is None


def test_parse_of_non_strings_and_defaults() -> None:
    assert DateTime.parse(None) is None  # type: ignore[arg-type]
    assert Date.parse(20240301) is None  # type: ignore[arg-type]
    assert Time.parse(b"10:00") is None  # type: ignore[arg-type]
    # An offset-less text takes the evaluation offset it is given; an explicit one wins.
    assert dt("2024-03-01T10:00").offset is None
    assert DateTime.parse("2024-03-01T10:00", D(-5)).offset == D(-5)  # type: ignore[union-attr]
    assert DateTime.parse("2024-03-01T10:00Z", D(-5)).offset == D(0)  # type: ignore[union-attr]


def test_date_and_time_parse() -> None:
    assert Date.parse("2024-02-29") == Date(2024, 2, 29)
    assert Date.parse("2023-02-29") is None
    assert Date.parse("2024-03-01T10:00") is None
    assert Date.parse("2024") == Date(2024)
    assert Time.parse("T14:30:00.0") == Time(14, 30, 0, 0)
    assert Time.parse("14:30") == Time(14, 30)
    assert Time.parse("T14:30:00.0+05:30") == Time(14, 30, 0, 0)  # ToTime drops the offset
    assert Time.parse("T14:30:00.0Z") == Time(14, 30, 0, 0)
    assert Time.parse("T23:59:59.10000") == Time(23, 59, 59, 100)
    for bad in ("T14-30-00.0", "T24:00", "T", "", "14:3", "T14:30:00.", "1430"):
        assert Time.parse(bad) is None, bad


@given(st.datetimes(min_value=pydt.datetime(1, 1, 1), max_value=pydt.datetime(9999, 12, 31)),
       st.integers(1, 7), st.sampled_from([None, D(0), D(-5), D("5.5"), D(14)]))
def test_iso_round_trips(value: pydt.datetime, size: int, offset: Decimal | None) -> None:
    parts = [value.year, value.month, value.day, value.hour, value.minute, value.second,
             value.microsecond // 1000][:size]
    original = DateTime(*parts, offset=offset)  # type: ignore[arg-type, misc]
    parsed = DateTime.parse(original.iso())
    assert parsed is not None
    assert parsed.iso() == original.iso()
    assert parsed._cql_equivalent(original)


# --- comparison ------------------------------------------------------------------------------

def test_equality_and_uncertainty() -> None:
    assert DateTime(2014, 1, 5, 5, 0, 0, 0)._cql_equal(DateTime(2014, 1, 5, 5, 0, 0, 0)) is True
    assert DateTime(2014, 1, 5)._cql_equal(DateTime(2014, 7, 5)) is False
    # Same components as far as both go, different precision: unknown, and not equivalent.
    assert DateTime(2014)._cql_equal(DateTime(2014, 2, 15)) is None
    assert DateTime(2014)._cql_equivalent(DateTime(2014, 2, 15)) is False
    assert DateTime(2001, 1, 1, None)._cql_equal(DateTime(2001, 1, 1, None, None)) is True
    assert Date(2014)._cql_equal(Date(2014, 1)) is None
    assert Time(10)._cql_equal(Time(10, 0)) is None
    assert DateTime(2014)._cql_equal("2014") is False


def test_a_missing_millisecond_is_unknown() -> None:
    # The conformance suite (TimeProperInNull, DateTimeIncludedInNull …) has these null.
    assert dt("2024-01-01T10:00:00")._cql_equal(dt("2024-01-01T10:00:00.000")) is None
    assert Time(15, 59, 59)._cql_equal(Time(15, 59, 59, 999)) is None
    assert Time(12, 0, 0)._cql_compare(Time(12, 0, 0, 1)) is None
    assert Time(12, 0, 1)._cql_compare(Time(12, 0, 0, 999)) == 1
    assert Time(12, 0, 0)._cql_compare(Time(12, 0, 0, 1), P.SECOND) == 0
    assert dt("2024-01-01T10:00:00")._cql_compare(dt("2024-01-01T10:00:00.000"),
                                                  P.MILLISECOND) is None


@pytest.mark.parametrize(("a", "b", "expected"), [
    (DateTime(2015), DateTime(2014, 2, 15), 1),
    (DateTime(2013), DateTime(2014, 2, 15), -1),
    (DateTime(2014), DateTime(2014, 2, 15), None),
    (Date(2012, 2, 12), Date(2012, 2, 10), 1),
    (Time(10, 0, 0, 1), Time(10, 0, 0, 0), 1),
])
def test_ordering(a: DateTime | Date | Time, b: DateTime | Date | Time, expected: int | None) -> None:
    assert a._cql_compare(b) == expected


@pytest.mark.parametrize(("a", "b", "precision", "expected"), [
    (DateTime(2005, 10, 10), DateTime(2004, 10, 10), P.YEAR, 1),
    (DateTime(2004, 12, 9), DateTime(2003, 10, 10), P.DAY, 1),
    (DateTime(2005, 10, 10), DateTime(2005, 9), P.DAY, 1),  # decided before the gap
    (DateTime(2014, 10), DateTime(2014, 10, 12), P.DAY, None),
    (DateTime(2014, 12, 20), DateTime(2014, 12), P.DAY, None),
    (DateTime(2014, 12, 20), DateTime(2014, 12, 20, 15), P.MINUTE, None),
    (DateTime(2004, 10, 10, 20, 30, 15, 512), DateTime(2004, 10, 10, 20, 30, 15, 510),
     P.MILLISECOND, 1),
    (Time(15, 59, 59, 999), Time(14, 59, 59, 999), P.HOUR, 1),
    (Time(23, 25, 25, 555), Time(23, 55, 25, 900), P.HOUR, 0),
    (Date(2014, 1), Date(2014, 1, 5), P.MONTH, 0),
])
def test_compare_at_precision(a: DateTime | Date | Time, b: DateTime | Date | Time,
                              precision: Precision, expected: int | None) -> None:
    assert a._cql_compare(b, precision) == expected


def test_offsets_are_normalised_for_hours_and_finer() -> None:
    a = dt("2012-03-10T10:20:00.999+07:00")
    assert a._cql_compare(dt("2012-03-10T08:20:00.999+06:00"), P.HOUR) == 1
    assert a._cql_compare(dt("2012-03-10T10:20:00.999+06:00"), P.HOUR) == -1
    assert a.same_as(dt("2012-03-10T09:20:00.999+06:00"), P.HOUR) is True
    assert dt("2014-01-25T14:30:14.559+01:00")._cql_equal(dt("2014-01-25T13:30:14.559Z"))
    # At day precision each value reads its own calendar day (spec: no normalisation).
    assert dt("2022-02-22T00:00:00.000-05:00").same_as(dt("2022-02-22T04:59:00.000Z"),
                                                       P.DAY) is True
    assert dt("2024-03-01T23:00-05:00").same_as(dt("2024-03-02T01:00Z"), P.DAY) is False
    # A value without an hour cannot move: the other one moves into its offset.
    # (23:00-05:00 is 04:00 on the 2nd in UTC.)
    assert DateTime(2024, 3, 1, offset=D(0))._cql_compare(dt("2024-03-01T23:00-05:00")) == -1
    assert DateTime(2024, 3, 2, offset=D(0))._cql_compare(dt("2024-03-01T23:00-05:00")) is None
    # A missing offset compares as the other operand's.
    assert dt("2024-03-01T10:00")._cql_equal(dt("2024-03-01T10:00+05:00")) is True


def test_normalising_near_the_end_of_the_calendar() -> None:
    late = dt("9999-12-31T23:00+05:00")
    assert late._cql_compare(dt("9999-12-31T22:00Z")) == -1
    assert dt("9999-12-31T22:00Z")._cql_compare(late) == 1


def test_date_meets_datetime() -> None:
    assert Date(2024, 3, 1)._cql_equal(DateTime(2024, 3, 1)) is True
    assert DateTime(2024, 3, 1, 10)._cql_compare(Date(2024, 3, 2)) == -1
    assert Date(2024, 3, 1)._cql_compare(DateTime(2024, 3, 1, 10)) is None


def test_python_equality_and_hash_are_structural() -> None:
    assert DateTime(2024, 1, 1, 10, offset=D(1)) == DateTime(2024, 1, 1, 10, offset=D(1))
    assert DateTime(2024, 1, 1, 10, offset=D(1)) != DateTime(2024, 1, 1, 9, offset=D(0))
    assert len({Date(2024, 1, 1), Date(2024, 1, 1), Date(2024, 1)}) == 2
    assert Time(10) != Date(2024)


# --- arithmetic ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "quantity", "expected"), [
    (DateTime(2005, 10, 10), q(5, "years"), "2010-10-10"),
    (DateTime(2005, 5, 10), q(10, "months"), "2006-03-10"),
    (DateTime(2018, 5, 2), q(3, "weeks"), "2018-05-23"),
    (DateTime(2023, 3, 2), q(52, "weeks"), "2024-02-29"),
    (DateTime(2024, 2, 28), q(52, "weeks"), "2025-02-26"),
    (DateTime(2016, 6, 10), q(21, "days"), "2016-07-01"),
    (DateTime(2005, 5, 10, 5, 20, 30), q(5, "hours"), "2005-05-10T10:20:30"),
    (DateTime(2005, 5, 10), q(25, "hours"), "2005-05-11"),
    (DateTime(2005, 5, 10), q(5, "hours"), "2005-05-10"),
    (DateTime(2016, 6, 10, 5), q(19, "hours"), "2016-06-11T00"),
    (DateTime(2016, 6, 10, 5, 5, 5, 5), q(995, "milliseconds"), "2016-06-10T05:05:06.000"),
    (DateTime(2012, 2, 29), q(1, "year"), "2013-02-28"),  # leap day clamps
    (DateTime(2024, 1, 31), q(1, "month"), "2024-02-29"),  # end of month clamps
    (DateTime(2023, 1, 31), q(1, "month"), "2023-02-28"),
    (DateTime(2024, 3, 31), q(-1, "month"), "2024-02-29"),
    (DateTime(2014), q(24, "months"), "2016"),
    (DateTime(2014), q(25, "months"), "2016"),  # converted to whole years, truncated
    (DateTime(2014), q(730, "days"), "2016"),
    (DateTime(2014), q(735, "days"), "2016"),
    (DateTime(2016, 5), q(-31535999, "seconds"), "2015-05"),
    (DateTime(2014, 1, 1), q("1.9", "days"), "2014-01-02"),  # decimals above seconds drop
    (DateTime(2014, 1, 1, 0, 0, 0, 0), q("1.5", "s"), "2014-01-01T00:00:01.500"),
    (DateTime(2014, 1, 1, 0, 0, 0, 0), q("2", "wk"), "2014-01-15T00:00:00.000"),
    (DateTime(2014, 1, 1, 10, offset=D(-5)), q(1, "d"), "2014-01-02T10-05:00"),
])
def test_datetime_add(value: DateTime, quantity: Quantity, expected: str) -> None:
    assert value.add(quantity).iso() == expected


@pytest.mark.parametrize(("value", "quantity", "expected"), [
    (Date(2014), q(24, "months"), "2016"),
    (Date(2014), q(25, "months"), "2016"),
    (Date(2014, 6), q(33, "days"), "2014-07"),
    (Date(2014, 6), q(1, "year"), "2015-06"),
    (Date(2014, 6, 15), q(-33, "days"), "2014-05-13"),
    (Date(2014, 6, 15), q(49, "hours"), "2014-06-17"),
])
def test_date_add(value: Date, quantity: Quantity, expected: str) -> None:
    assert value.add(quantity).iso() == expected


@pytest.mark.parametrize(("value", "quantity", "expected"), [
    (DateTime(2005, 10, 10), q(5, "years"), "2000-10-10"),
    (DateTime(2005, 5, 10), q(6, "months"), "2004-11-10"),
    (DateTime(2024, 2, 29), q(52, "weeks"), "2023-03-02"),
    (DateTime(2024, 3, 1), q(52, "weeks"), "2023-03-03"),
    (DateTime(2016, 6, 10), q(11, "days"), "2016-05-30"),
    (DateTime(2016, 10, 1, 10, 20, 30), q(15, "hours"), "2016-09-30T19:20:30"),
    (DateTime(2016, 6, 10, 5, 5, 5, 5), q(6, "milliseconds"), "2016-06-10T05:05:04.999"),
    (DateTime(2014), q(25, "months"), "2012"),
])
def test_datetime_subtract(value: DateTime, quantity: Quantity, expected: str) -> None:
    assert value.subtract(quantity).iso() == expected


def test_time_arithmetic() -> None:
    t = Time(15, 59, 59, 999)
    assert t.add(q(5, "hours")).iso() == "20:59:59.999"
    assert t.add(q(1, "minute")).iso() == "16:00:59.999"
    assert t.add(q(1, "milliseconds")).iso() == "16:00:00.000"
    assert t.add(q(300, "minutes")).iso() == "20:59:59.999"
    assert t.subtract(q(5, "hours")).subtract(q(1, "minutes")).iso() == "10:58:59.999"
    assert Time(15, 59, 59, 0).subtract(q(1, "milliseconds")).iso() == "15:59:58.999"
    assert Time(23, 30).add(q(1, "hour")).iso() == "00:30"  # wraps around midnight
    assert Time(10).add(q(90, "minutes")).iso() == "11"
    with pytest.raises(CqlEvaluationError):
        t.add(q(1, "day"))


def test_arithmetic_errors() -> None:
    with pytest.raises(InvalidTemporalValue):
        DateTime(2005, 10, 10).add(q(8000, "years"))
    with pytest.raises(InvalidTemporalValue):
        DateTime(2005, 10, 10).subtract(q(2005, "years"))
    with pytest.raises(InvalidTemporalValue):
        DateTime(9999, 12, 31, 23).add(q(1, "hour"))
    # Definite-duration years and months would be confused with calendar ones (spec, Add).
    for unit in ("a", "mo"):
        with pytest.raises(CqlEvaluationError, match="calendar duration"):
            DateTime(2014, 1, 1).add(q(1, unit))
    with pytest.raises(CqlEvaluationError):
        Date(2014).add(q(1, "mg"))


def test_successor_and_predecessor() -> None:
    assert DateTime(2024, 2, 28).successor().iso() == "2024-02-29"
    assert DateTime(2024, 12, 31, 23, 59, 59, 999).successor().iso() == "2025-01-01T00:00:00.000"
    assert Date(2024, 3).predecessor().iso() == "2024-02"
    assert Time(10, 0).predecessor().iso() == "09:59"
    assert Time(23, 59, 59, 998).successor().iso() == "23:59:59.999"
    for bad in (lambda: MAX_DATETIME.successor(), lambda: MIN_DATETIME.predecessor(),
                lambda: MAX_TIME.successor(), lambda: MIN_TIME.predecessor(),
                lambda: Date(9999).successor()):
        with pytest.raises(CqlEvaluationError):
            bad()


def test_conversions_between_date_and_datetime() -> None:
    value = DateTime(2003, 10, 29, 20, 50, 33, 955, D(1))
    assert value.to_date() == Date(2003, 10, 29)
    assert value.time() == Time(20, 50, 33, 955)
    assert DateTime(2003, 10).to_date() == Date(2003, 10)
    assert DateTime(2003, 10, 29).time() is None
    as_datetime = Date(2014, 1, 1).to_datetime(D(-5))
    assert as_datetime.hour is None and as_datetime.offset == D(-5)
    assert dt("2024-03-01T23:00-05:00").at_offset(D(0)).iso() == "2024-03-02T04:00+00:00"


# --- durations and differences ---------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "precision", "expected"), [
    (Date(2012, 3, 10), Date(2013, 3, 10), P.YEAR, 1),
    (dt("2012-03-10T10:20:00"), dt("2013-03-10T09:20:00"), P.YEAR, 0),
    (Date(2012, 2, 29), Date(2013, 2, 28), P.YEAR, 0),
    (Date(2014, 1, 31), Date(2014, 2, 1), P.MONTH, 0),
    (DateTime(2005, 5), DateTime(2010, 4), P.YEAR, 4),
    (DateTime(2010, 10, 12, 12, 5), DateTime(2008, 8, 15, 8, 8), P.DAY, -788),
    (dt("2012-03-10T22:05:09"), dt("2012-03-20T07:19:33"), P.WEEK, 1),
    (dt("2012-03-10T22:05:09"), dt("2012-03-24T07:19:33"), P.WEEK, 1),
    (dt("2012-03-10T06:05:09"), dt("2012-03-24T07:19:33"), P.WEEK, 2),
    (dt("2017-03-12T01:00:00-07:00"), dt("2017-03-12T03:00:00-06:00"), P.HOUR, 1),
    (dt("2017-11-05T01:30:00-06:00"), dt("2017-11-05T01:15:00-07:00"), P.MINUTE, 45),
    (dt("2017-03-12T00:00:00-07:00"), dt("2017-03-13T00:00:00-06:00"), P.DAY, 0),
    (Time(20, 26, 15, 555), Time(23, 25, 15, 555), P.HOUR, 2),
    (Time(6), Time(7, 0, 0), P.HOUR, 1),
    (Time(23, 25, 10, 556), Time(23, 25, 15, 555), P.SECOND, 4),
    (Date(2011, 5, 1), Date(2012, 5, 6), P.DAY, 371),
])
def test_duration_between(a: DateTime | Date | Time, b: DateTime | Date | Time,
                          precision: Precision, expected: int) -> None:
    assert duration_between(a, b, precision) == expected


@pytest.mark.parametrize(("a", "b", "precision", "low", "high"), [
    (DateTime(2005), DateTime(2010), P.YEAR, 4, 5),
    (DateTime(2014, 1, 15), DateTime(2014, 2), P.DAY, 17, 44),
    (DateTime(2005), DateTime(2006, 5), P.MONTH, 4, 16),
    (DateTime(2005), DateTime(2006, 7), P.MONTH, 6, 18),
    (DateTime(2005), DateTime(2006, 2), P.MONTH, 1, 13),
    (DateTime(2014, 1, 1, 10), DateTime(2014, 1, 1, 12, 30), P.MINUTE, 91, 150),
    (dt("2024-01-01T10:00:00"), dt("2024-01-01T10:00:01.500"), P.MILLISECOND, 501, 1500),
    # A Date meets a DateTime as a DateTime without a time of day.
    (Date(2024, 3, 1), DateTime(2024, 3, 2, 12), P.HOUR, 13, 36),
])
def test_duration_between_is_uncertain_at_mixed_precision(
        a: DateTime, b: DateTime, precision: Precision, low: int, high: int) -> None:
    assert duration_between(a, b, precision) == Uncertainty(low, high)


@pytest.mark.parametrize(("a", "b", "precision", "expected"), [
    (DateTime(2000), DateTime(2005, 12), P.YEAR, 5),
    (DateTime(2000, 2), DateTime(2000, 10), P.MONTH, 8),
    (DateTime(2000, 10, 15, 10, 30), DateTime(2000, 10, 25, 10, 0), P.DAY, 10),
    (DateTime(2000, 4, 1, 12), DateTime(2000, 4, 1, 20), P.HOUR, 8),
    (DateTime(2000, 10, 10, 10, 5, 45, 500, D(-6)), DateTime(2000, 10, 10, 10, 5, 45, 900, D(-7)),
     P.MILLISECOND, 3600400),
    (DateTime(2000, 10, 15), DateTime(2000, 10, 28), P.WEEK, 1),
    (DateTime(2000, 10, 15), DateTime(2000, 10, 29), P.WEEK, 2),
    (dt("2012-03-10T22:05:09"), dt("2012-03-24T07:19:33"), P.WEEK, 2),
    (DateTime(2016), DateTime(1998), P.YEAR, -18),
    (Time(20), Time(23, 25, 15, 555), P.HOUR, 3),
    (Time(20, 20, 15, 555), Time(20, 20, 15, 550), P.MILLISECOND, -5),
    (dt("2017-03-12T01:00:00-07:00"), dt("2017-03-12T03:00:00-06:00"), P.HOUR, 1),
    (dt("2017-03-12T00:00:00-07:00"), dt("2017-03-13T00:00:00-06:00"), P.DAY, 1),
    (Date(2023, 12, 31), Date(2024, 1, 1), P.YEAR, 1),
])
def test_difference_between(a: DateTime | Date | Time, b: DateTime | Date | Time,
                            precision: Precision, expected: int) -> None:
    assert difference_between(a, b, precision) == expected


def test_difference_between_uncertain() -> None:
    assert difference_between(DateTime(2005), DateTime(2006, 7), P.MONTH) == Uncertainty(7, 18)


def test_between_mismatched_types_and_precisions() -> None:
    assert duration_between(Time(10), Date(2024), P.HOUR) is None
    with pytest.raises(CqlEvaluationError):
        duration_between(Time(10), Time(11), P.DAY)
    with pytest.raises(CqlEvaluationError):
        difference_between(Date(2024, 1, 1), Date(2024, 1, 2), P.HOUR)


@given(st.dates(), st.integers(-20000, 20000))
def test_days_arithmetic_matches_the_python_calendar(start: pydt.date, days: int) -> None:
    try:
        expected = start + pydt.timedelta(days=days)
    except OverflowError:
        return
    value = Date(start.year, start.month, start.day)
    moved = value.add(q(days, "days"))
    assert (moved.year, moved.month, moved.day) == (expected.year, expected.month, expected.day)
    assert duration_between(value, moved, P.DAY) == days
    assert difference_between(value, moved, P.DAY) == days
    assert moved.subtract(q(days, "days")) == value


@given(st.dates(min_value=pydt.date(1800, 1, 1), max_value=pydt.date(2200, 12, 31)),
       st.dates(min_value=pydt.date(1800, 1, 1), max_value=pydt.date(2200, 12, 31)))
def test_whole_years_and_months_are_consistent_with_adding_them(a: pydt.date, b: pydt.date) -> None:
    start = Date(a.year, a.month, a.day)
    end = Date(b.year, b.month, b.day)
    months = duration_between(start, end, P.MONTH)
    assert isinstance(months, int)
    # Adding the whole months never overshoots, one more month always does.
    step = 1 if months >= 0 else -1
    reached = start.add(q(months, "months"))
    beyond = start.add(q(months + step, "months"))
    assert (reached._cql_compare(end) or 0) * step <= 0
    if start.day is not None and start.day <= 28:
        assert (beyond._cql_compare(end) or 0) * step > 0
