"""CQL Date, DateTime and Time with precision (CQL 1.5, sections 'Date and Time' and
'Uncertainty').

Contract shared with the rest of the engine (bodies are implemented in this module):

* Values are immutable. Unspecified components are ``None`` and define the precision: a
  component may only be given when every coarser one is.
* ``DateTime.offset`` is a ``Decimal`` number of hours or ``None``. The engine stamps the
  evaluation request's offset on every DateTime it builds without one (selectors, literals,
  ``ToDateTime``; FHIR values through ``DateTime.parse(text, offset=...)``). A ``None`` offset
  that is left over compares as if it were the other operand's offset.
* Comparisons normalise offsets when the comparison precision is unspecified or hours or finer
  (spec: 'only when the comparison precision is hours, minutes, seconds, or milliseconds');
  only values that have an hour are shifted. Durations always compare real elapsed time;
  differences normalise only for hours and finer.
* Comparisons return ``None`` when the answer depends on components one side lacks, the
  millisecond included: ``@T10:00:00 = @T10:00:00.000`` is null, as the conformance suite has
  it (the reference Java engine agrees; cql-execution reads seconds as a decimal instead).
* Durations and differences at mixed precision return an ``values.Uncertainty``.
* Results outside 0001-01-01 .. 9999-12-31 raise :class:`InvalidTemporalValue` (a
  ``CqlEvaluationError``), as the conformance suite requires; Time arithmetic wraps around
  midnight like the reference Java engine, but ``successor``/``predecessor`` never wrap.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ..errors import CqlEvaluationError, ElmError
from .structured import Quantity, Uncertainty


class InvalidTemporalValue(CqlEvaluationError, ValueError):
    """A component out of range, a gap in the components, or a result outside the calendar."""


class Precision(enum.IntEnum):
    YEAR = 0
    MONTH = 1
    WEEK = 2  # only as a unit of durations and differences, never a value's precision
    DAY = 3
    HOUR = 4
    MINUTE = 5
    SECOND = 6
    MILLISECOND = 7

    @classmethod
    def parse(cls, name: str) -> Precision:
        """Accepts ELM names ('Day') and quantity units ('day', 'days', 'd', 'mo', 'a' …)."""
        p = _PRECISION_NAMES.get(name) or _PRECISION_NAMES.get(name.lower())
        if p is None:
            raise ElmError(f"unknown date/time precision {name!r}")
        return p


_PRECISION_NAMES: dict[str, Precision] = {}
for _p, _names in (
    (Precision.YEAR, ("year", "years", "a")),
    (Precision.MONTH, ("month", "months", "mo")),
    (Precision.WEEK, ("week", "weeks", "wk")),
    (Precision.DAY, ("day", "days", "d")),
    (Precision.HOUR, ("hour", "hours", "h")),
    (Precision.MINUTE, ("minute", "minutes", "min")),
    (Precision.SECOND, ("second", "seconds", "s")),
    (Precision.MILLISECOND, ("millisecond", "milliseconds", "ms")),
):
    for _n in _names:
        _PRECISION_NAMES[_n] = _p

# Component index of each value precision: (year, month, day, hour, minute, second, ms).
_FIELD_PRECISIONS = (Precision.YEAR, Precision.MONTH, Precision.DAY, Precision.HOUR,
                     Precision.MINUTE, Precision.SECOND, Precision.MILLISECOND)
_FIELD_INDEX = {p: i for i, p in enumerate(_FIELD_PRECISIONS)}
_TIME_PRECISIONS = _FIELD_PRECISIONS[3:]

_DAY_MS = 86_400_000
_UNIT_MS = {
    Precision.WEEK: 7 * _DAY_MS,
    Precision.DAY: _DAY_MS,
    Precision.HOUR: 3_600_000,
    Precision.MINUTE: 60_000,
    Precision.SECOND: 1000,
    Precision.MILLISECOND: 1,
}
# Converting a fixed-length quantity to a coarser value precision (spec: 'converting the
# time-based quantity to the highest specified granularity', truncating): the conformance
# suite fixes a month at 30 days and a year at 365 days.
_MONTH_MS = 30 * _DAY_MS
_YEAR_MS = 365 * _DAY_MS

_MIN_FIELDS = (1, 1, 1, 0, 0, 0, 0)
_MAX_FIELDS = (9999, 12, 31, 23, 59, 59, 999)
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and is_leap_year(year):
        return 29
    return _DAYS_IN_MONTH[month]


# Proleptic Gregorian day numbers (1 = 0001-01-01, as date.toordinal) valid for any year, so
# that normalising 9999-12-31T23:00-05:00 to UTC does not need a special case.
def _ordinal(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 305


def _civil(n: int) -> tuple[int, int, int]:
    z = n + 305
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def _trunc_div(a: int, b: int) -> int:
    """Integer division rounding toward zero (CQL truncates partial periods)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _check(fields: tuple[int | None, ...], first: int) -> int:
    """Validates components (``first`` is the index of the first one in the DateTime layout);
    returns how many are specified."""
    n = len(fields)
    for i, v in enumerate(fields):
        if v is None:
            n = i
            break
        if type(v) is not int:
            raise InvalidTemporalValue(f"date/time component {v!r} is not an Integer")
        j = first + i
        hi = days_in_month(fields[0], fields[1]) if j == 2 else _MAX_FIELDS[j]  # type: ignore[arg-type]
        if not _MIN_FIELDS[j] <= v <= hi:
            what = _FIELD_PRECISIONS[j].name.lower()
            raise InvalidTemporalValue(f"{what} {v} is out of range")
    for v in fields[n:]:
        if v is not None:
            raise InvalidTemporalValue(
                "a date/time component may not be given when a coarser one is missing")
    if first == 0 and n == 0:
        raise InvalidTemporalValue("a date needs a year")
    return n


def _offset_decimal(offset: Any) -> Decimal | None:
    if offset is None or type(offset) is Decimal:
        return offset
    if type(offset) is int:
        return Decimal(offset)
    raise InvalidTemporalValue(f"timezone offset {offset!r} is not a Decimal")


def _offset_minutes(offset: Decimal) -> int:
    return int((offset * 60).to_integral_value())


def _format_offset(offset: Decimal) -> str:
    minutes = _offset_minutes(offset)
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{sign}{hh:02d}:{mm:02d}"


def _format_date(c: tuple[int | None, ...], n: int) -> str:
    s = f"{c[0]:04d}"
    if n > 1:
        s += f"-{c[1]:02d}"
        if n > 2:
            s += f"-{c[2]:02d}"
    return s


def _format_time(c: tuple[int | None, ...], n: int) -> str:
    s = f"{c[0]:02d}"
    if n > 1:
        s += f":{c[1]:02d}"
        if n > 2:
            s += f":{c[2]:02d}"
            if n > 3:
                s += f".{c[3]:03d}"
    return s


def _compare_fields(a: tuple[int | None, ...], b: tuple[int | None, ...],
                    upto: int | None) -> int | None:
    """Component-wise comparison, most significant first, up to the component at ``upto``
    (None: every component either side specifies)."""
    if upto is None:
        for i in range(len(a)):
            x = a[i]
            y = b[i]
            if x is None or y is None:
                return 0 if x is None and y is None else None
            if x != y:
                return 1 if x > y else -1
        return 0
    if upto >= len(a):
        # A precision finer than the type has: equal components still leave it open.
        r = _compare_fields(a, b, len(a) - 1)
        return None if r == 0 else r
    for i in range(upto + 1):
        x = a[i]
        y = b[i]
        if x is None or y is None:
            return None
        if x != y:
            return 1 if x > y else -1
    return 0


def _shift(c: tuple[int | None, ...], n: int, minutes: int) -> tuple[int | None, ...]:
    """DateTime components (with an hour) moved by ``minutes``, keeping their precision."""
    total = (_ordinal(c[0], c[1], c[2]) * 1440 + c[3] * 60  # type: ignore[arg-type,operator]
             + (c[4] or 0) + minutes)
    days, rem = divmod(total, 1440)
    y, m, d = _civil(days)
    h, mi = divmod(rem, 60)
    return (y, m, d, h, mi if n > 4 else None, c[5], c[6])


def _aligned(a: DateTime, b: DateTime) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
    """The components of a and b in one offset frame; a value without an hour cannot move,
    so the other one moves to its frame."""
    ac = a._c
    bc = b._c
    oa = a.offset
    ob = b.offset
    if oa is None or ob is None or oa == ob:
        return ac, bc
    if b._n > 3:
        return ac, _shift(bc, b._n, _offset_minutes(oa) - _offset_minutes(ob))
    if a._n > 3:
        return _shift(ac, a._n, _offset_minutes(ob) - _offset_minutes(oa)), bc
    return ac, bc


def _with_prefix(c: tuple[int, ...], n: int, size: int) -> tuple[int | None, ...]:
    return tuple(c[:n]) + (None,) * (size - n)


def _instant_ms(t: tuple[int, ...]) -> int:
    """Milliseconds since 0001-01-01T00:00 of complete DateTime components."""
    return (_ordinal(t[0], t[1], t[2]) * _DAY_MS
            + ((t[3] * 60 + t[4]) * 60 + t[5]) * 1000 + t[6])


def _from_instant(ms: int) -> tuple[int, ...]:
    days, rem = divmod(ms, _DAY_MS)
    y, m, d = _civil(days)
    h, rem = divmod(rem, 3_600_000)
    mi, rem = divmod(rem, 60_000)
    s, msec = divmod(rem, 1000)
    return (y, m, d, h, mi, s, msec)


# --- quantities as date/time steps ---------------------------------------------------------

# Day numbers of 0001-01-01 and 9999-12-31; the units that step a Date by whole days.
_FIRST_DAY = 1
_LAST_DAY = 3_652_059
_DAY_UNITS = frozenset({"day", "days", "d"})

_CALENDAR_UNITS: dict[str, Precision] = {
    name: p for name, p in _PRECISION_NAMES.items() if name not in ("a", "mo")
}


def _step(q: Quantity) -> tuple[Precision, int]:
    """(unit, whole amount) of a time-valued quantity, decimals handled as the spec says."""
    if not isinstance(q, Quantity) or q.value is None:
        raise CqlEvaluationError(f"{q!r} is not a time-valued quantity")
    unit = _CALENDAR_UNITS.get(q.unit)
    if unit is None:
        if q.unit in ("a", "mo"):
            calendar = "years" if q.unit == "a" else "months"
            raise CqlEvaluationError(
                f"the definite-duration unit '{q.unit}' cannot be used in date/time "
                f"arithmetic; use the calendar duration {calendar}")
        raise CqlEvaluationError(f"'{q.unit}' is not a time unit")
    value = q.value
    if unit is Precision.SECOND and value != value.to_integral_value():
        # Seconds keep their decimal part as milliseconds; coarser units drop it.
        return Precision.MILLISECOND, int(value * 1000)
    return unit, int(value)


def _add_fields(c: tuple[int | None, ...], n: int, unit: Precision, amount: int,
                size: int) -> tuple[int | None, ...]:
    """Date/DateTime components (``n`` specified of ``size``) plus ``amount`` ``unit``s."""
    vp = _FIELD_PRECISIONS[n - 1]
    if unit is Precision.YEAR or unit is Precision.MONTH:
        months = amount * 12 if unit is Precision.YEAR else amount
        if vp is Precision.YEAR:
            months = _trunc_div(months, 12) * 12
    else:
        ms = amount * _UNIT_MS[unit]
        if vp is Precision.YEAR:
            months = _trunc_div(ms, _YEAR_MS) * 12
        elif vp is Precision.MONTH:
            months = _trunc_div(ms, _MONTH_MS)
        else:
            step = _UNIT_MS[vp]
            full = tuple(c[i] if i < n else _MIN_FIELDS[i] for i in range(7))
            moved = _instant_ms(full) + _trunc_div(ms, step) * step  # type: ignore[arg-type]
            out = _from_instant(moved)
            if not 1 <= out[0] <= 9999:
                raise InvalidTemporalValue(
                    f"date/time arithmetic gave the year {out[0]}, outside 1..9999")
            return _with_prefix(out, n, size)
    if months == 0:
        return c
    y = c[0]
    m = c[1] or 1
    total = y * 12 + (m - 1) + months  # type: ignore[operator]
    y, m0 = divmod(total, 12)
    if not 1 <= y <= 9999:
        raise InvalidTemporalValue(f"date/time arithmetic gave the year {y}, outside 1..9999")
    out_c: list[int | None] = list(c)
    out_c[0] = y
    if n > 1:
        out_c[1] = m0 + 1
        if n > 2:
            # End-of-month clamping: Jan 31 + 1 month is Feb 28 (or 29).
            out_c[2] = min(c[2], days_in_month(y, m0 + 1))  # type: ignore[type-var]
    return tuple(out_c)


# --- the value classes ---------------------------------------------------------------------

class Date:
    __slots__ = ("_c", "_n", "day", "month", "year")

    year: int
    month: int | None
    day: int | None
    _c: tuple[int | None, ...]
    _n: int

    def __init__(self, year: int, month: int | None = None, day: int | None = None) -> None:
        c = (year, month, day)
        self._n = _check(c, 0)
        self._c = c
        self.year = year
        self.month = month
        self.day = day

    @classmethod
    def _make(cls, c: tuple[int | None, ...], n: int) -> Date:
        """Builds from components known to be valid (results of arithmetic)."""
        self = object.__new__(cls)
        self._c = c
        self._n = n
        self.year, self.month, self.day = c  # type: ignore[assignment]
        return self

    @property
    def precision(self) -> Precision:
        return _FIELD_PRECISIONS[self._n - 1]

    @classmethod
    def parse(cls, text: str) -> Date | None:
        """ISO 8601 'YYYY[-MM[-DD]]'; None when the text is not a valid date."""
        return _parse_date(text) if isinstance(text, str) else None

    def iso(self) -> str:
        return _format_date(self._c, self._n)

    def __repr__(self) -> str:
        return f"Date({self.iso()!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Date and other._c == self._c

    def __hash__(self) -> int:
        return hash(("Date", self._c))

    def add(self, q: Quantity) -> Date:
        if self._n == 3 and q.unit in _DAY_UNITS and type(q.value) is Decimal:
            # The common case (a full date plus days), by day numbers.
            day = _ordinal(*self._c) + int(q.value)  # type: ignore[arg-type]
            if not _FIRST_DAY <= day <= _LAST_DAY:
                raise InvalidTemporalValue(
                    "date/time arithmetic gave a year outside 1..9999")
            return Date._make(_civil(day), 3)
        unit, amount = _step(q)
        if unit > Precision.DAY:
            # Date arithmetic is in years, months, weeks and days; finer amounts count only
            # as whole days.
            amount = _trunc_div(amount * _UNIT_MS[unit], _DAY_MS)
            unit = Precision.DAY
        if amount == 0:
            return self
        return Date._make(_add_fields(self._c, self._n, unit, amount, 3), self._n)

    def subtract(self, q: Quantity) -> Date:
        return self.add(_negated(q))

    def successor(self) -> Date:
        return self.add(Quantity(Decimal(1), self.precision.name.lower()))

    def predecessor(self) -> Date:
        return self.subtract(Quantity(Decimal(1), self.precision.name.lower()))

    def to_datetime(self, offset: Decimal | None = None) -> DateTime:
        """The DateTime with the same components and no time; ``offset`` is the evaluation
        request's offset (spec: ToDateTime(Date))."""
        return DateTime._make((*self._c, None, None, None, None), self._n,
                              _offset_decimal(offset))

    def component(self, p: Precision) -> int | None:
        i = _FIELD_INDEX.get(p)
        return self._c[i] if i is not None and i < 3 else None

    def same_as(self, other: Any, precision: Precision | None = None) -> bool | None:
        r = self._cql_compare(other, precision)
        return None if r is None else r == 0

    def _cql_equal(self, other: Any) -> bool | None:
        t = type(other)
        if t is Date:
            r = _compare_fields(self._c, other._c, None)
        elif t is DateTime:
            return self.to_datetime()._cql_equal(other)
        else:
            return False
        return None if r is None else r == 0

    def _cql_equivalent(self, other: Any) -> bool:
        return self._cql_equal(other) is True

    def _cql_compare(self, other: Any, precision: Precision | None = None) -> int | None:
        t = type(other)
        if t is DateTime:
            return self.to_datetime()._cql_compare(other, precision)
        if t is not Date:
            return None
        upto = None if precision is None else _precision_index(precision)
        return _compare_fields(self._c, other._c, upto)


class DateTime:
    __slots__ = ("_c", "_n", "day", "hour", "millisecond", "minute", "month", "offset",
                 "second", "year")

    year: int
    month: int | None
    day: int | None
    hour: int | None
    minute: int | None
    second: int | None
    millisecond: int | None
    offset: Decimal | None
    _c: tuple[int | None, ...]
    _n: int

    def __init__(
        self,
        year: int,
        month: int | None = None,
        day: int | None = None,
        hour: int | None = None,
        minute: int | None = None,
        second: int | None = None,
        millisecond: int | None = None,
        offset: Decimal | None = None,
    ) -> None:
        c = (year, month, day, hour, minute, second, millisecond)
        self._n = _check(c, 0)
        self._c = c
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond
        offset = _offset_decimal(offset)
        if offset is not None and not -18 <= offset <= 18:
            raise InvalidTemporalValue(f"timezone offset {offset} is out of range")
        self.offset = offset

    @classmethod
    def _make(cls, c: tuple[int | None, ...], n: int, offset: Decimal | None) -> DateTime:
        self = object.__new__(cls)
        self._c = c
        self._n = n
        self.year = c[0]  # type: ignore[assignment]
        self.month, self.day, self.hour, self.minute, self.second, self.millisecond = c[1:]
        self.offset = offset
        return self

    @property
    def precision(self) -> Precision:
        return _FIELD_PRECISIONS[self._n - 1]

    @classmethod
    def parse(cls, text: str, offset: Decimal | None = None) -> DateTime | None:
        """ISO 8601 / FHIR dateTime, any precision, optional 'Z' or ±hh:mm offset.

        ``offset`` applies when the text has none (pass the evaluation offset). None when
        the text is not a valid DateTime.
        """
        return _parse_datetime(text, offset) if isinstance(text, str) else None

    def iso(self) -> str:
        n = self._n
        if n <= 3:
            return _format_date(self._c, n)
        s = _format_date(self._c, 3) + "T" + _format_time(self._c[3:], n - 3)
        if self.offset is not None:
            s += _format_offset(self.offset)
        return s

    def __repr__(self) -> str:
        return f"DateTime({self.iso()!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is DateTime and other._c == self._c and other.offset == self.offset

    def __hash__(self) -> int:
        return hash(("DateTime", self._c, self.offset))

    def add(self, q: Quantity) -> DateTime:
        unit, amount = _step(q)
        if amount == 0:
            return self
        return DateTime._make(_add_fields(self._c, self._n, unit, amount, 7), self._n,
                              self.offset)

    def subtract(self, q: Quantity) -> DateTime:
        return self.add(_negated(q))

    def successor(self) -> DateTime:
        return self.add(Quantity(Decimal(1), self.precision.name.lower()))

    def predecessor(self) -> DateTime:
        return self.subtract(Quantity(Decimal(1), self.precision.name.lower()))

    def to_date(self) -> Date:
        """The date components as they are (in the value's own offset)."""
        return Date._make(self._c[:3], min(self._n, 3))

    def time(self) -> Time | None:
        """The time of day (TimeFrom); None when the value has no hour."""
        if self._n <= 3:
            return None
        return Time._make(self._c[3:], self._n - 3)

    def at_offset(self, offset: Decimal) -> DateTime:
        """The same instant expressed in another offset (values without an hour only get
        the new offset)."""
        offset = _offset_decimal(offset)  # type: ignore[assignment]
        if self.offset is None or self._n <= 3 or offset == self.offset:
            return DateTime._make(self._c, self._n, offset)
        c = _shift(self._c, self._n, _offset_minutes(offset) - _offset_minutes(self.offset))
        if not 1 <= c[0] <= 9999:  # type: ignore[operator]
            raise InvalidTemporalValue("the DateTime falls outside the calendar in that offset")
        return DateTime._make(c, self._n, offset)

    def component(self, p: Precision) -> int | None:
        i = _FIELD_INDEX.get(p)
        return None if i is None else self._c[i]

    def same_as(self, other: Any, precision: Precision | None = None) -> bool | None:
        r = self._cql_compare(other, precision)
        return None if r is None else r == 0

    def _cql_equal(self, other: Any) -> bool | None:
        r = self._compare_any(other, None)
        if r is False:
            return False
        return None if r is None else r == 0

    def _cql_equivalent(self, other: Any) -> bool:
        return self._compare_any(other, None) == 0

    def _cql_compare(self, other: Any, precision: Precision | None = None) -> int | None:
        r = self._compare_any(other, precision)
        return None if r is False else r

    def _compare_any(self, other: Any, precision: Precision | None) -> int | bool | None:
        """Comparison result, or False when other is not a date/time at all."""
        t = type(other)
        if t is Date:
            other = other.to_datetime()
        elif t is not DateTime:
            return False
        if precision is None or precision >= Precision.HOUR:
            a, b = _aligned(self, other)
        else:
            a, b = self._c, other._c
        upto = None if precision is None else _precision_index(precision)
        return _compare_fields(a, b, upto)


class Time:
    __slots__ = ("_c", "_n", "hour", "millisecond", "minute", "second")

    hour: int
    minute: int | None
    second: int | None
    millisecond: int | None
    _c: tuple[int | None, ...]
    _n: int

    def __init__(
        self,
        hour: int,
        minute: int | None = None,
        second: int | None = None,
        millisecond: int | None = None,
    ) -> None:
        c = (hour, minute, second, millisecond)
        n = _check(c, 3)
        if n == 0:
            raise InvalidTemporalValue("a time needs an hour")
        self._n = n
        self._c = c
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond

    @classmethod
    def _make(cls, c: tuple[int | None, ...], n: int) -> Time:
        self = object.__new__(cls)
        self._c = c
        self._n = n
        self.hour, self.minute, self.second, self.millisecond = c  # type: ignore[assignment]
        return self

    @property
    def precision(self) -> Precision:
        return _TIME_PRECISIONS[self._n - 1]

    @classmethod
    def parse(cls, text: str) -> Time | None:
        """'hh[:mm[:ss[.fff]]]', optionally with a leading 'T'; a trailing offset is accepted
        and dropped (CQL Time has none). None when the text is not a valid time."""
        return _parse_time(text) if isinstance(text, str) else None

    def iso(self) -> str:
        return _format_time(self._c, self._n)

    def __repr__(self) -> str:
        return f"Time({self.iso()!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Time and other._c == self._c

    def __hash__(self) -> int:
        return hash(("Time", self._c))

    def _ms(self) -> int:
        c = self._c
        return ((c[0] * 60 + (c[1] or 0)) * 60 + (c[2] or 0)) * 1000 + (c[3] or 0)  # type: ignore[operator]

    def add(self, q: Quantity) -> Time:
        unit, amount = _step(q)
        if unit < Precision.HOUR:
            raise CqlEvaluationError("Time arithmetic takes hours, minutes, seconds or "
                                     "milliseconds")
        step = _UNIT_MS[self.precision]
        moved = self._ms() + _trunc_div(amount * _UNIT_MS[unit], step) * step
        # A time of day wraps around midnight (as java.time.LocalTime does).
        out = _from_instant(moved % _DAY_MS)
        return Time._make(_with_prefix(out[3:], self._n, 4), self._n)

    def subtract(self, q: Quantity) -> Time:
        return self.add(_negated(q))

    def successor(self) -> Time:
        if self._c[: self._n] == _MAX_FIELDS[3: 3 + self._n]:
            raise InvalidTemporalValue("successor of the maximum Time is undefined")
        return self.add(Quantity(Decimal(1), self.precision.name.lower()))

    def predecessor(self) -> Time:
        if self._c[: self._n] == _MIN_FIELDS[3: 3 + self._n]:
            raise InvalidTemporalValue("predecessor of the minimum Time is undefined")
        return self.subtract(Quantity(Decimal(1), self.precision.name.lower()))

    def component(self, p: Precision) -> int | None:
        i = _FIELD_INDEX.get(p)
        return None if i is None or i < 3 else self._c[i - 3]

    def same_as(self, other: Any, precision: Precision | None = None) -> bool | None:
        r = self._cql_compare(other, precision)
        return None if r is None else r == 0

    def _cql_equal(self, other: Any) -> bool | None:
        if type(other) is not Time:
            return False
        r = _compare_fields(self._c, other._c, None)
        return None if r is None else r == 0

    def _cql_equivalent(self, other: Any) -> bool:
        return self._cql_equal(other) is True

    def _cql_compare(self, other: Any, precision: Precision | None = None) -> int | None:
        if type(other) is not Time:
            return None
        if precision is None:
            return _compare_fields(self._c, other._c, None)
        i = _precision_index(precision)
        if i < 3:
            raise CqlEvaluationError(f"a Time has no {precision.name.lower()} component")
        return _compare_fields(self._c, other._c, i - 3)


Temporal = Date | DateTime | Time

MIN_DATE = Date(1, 1, 1)
MAX_DATE = Date(9999, 12, 31)
MIN_DATETIME = DateTime(1, 1, 1, 0, 0, 0, 0)
MAX_DATETIME = DateTime(9999, 12, 31, 23, 59, 59, 999)
MIN_TIME = Time(0, 0, 0, 0)
MAX_TIME = Time(23, 59, 59, 999)


def _precision_index(p: Precision) -> int:
    i = _FIELD_INDEX.get(p)
    if i is None:
        raise CqlEvaluationError("week is not a precision for comparing dates and times")
    return i


def _negated(q: Quantity) -> Quantity:
    if not isinstance(q, Quantity) or q.value is None:
        raise CqlEvaluationError(f"{q!r} is not a time-valued quantity")
    return Quantity(-q.value, q.unit)


# --- durations and differences -------------------------------------------------------------

def _as_pair(a: Temporal, b: Temporal) -> tuple[Any, Any] | None:
    """Both operands as one type (a Date meets a DateTime as a DateTime), or None."""
    ta = type(a)
    tb = type(b)
    if ta is tb:
        return a, b
    if ta is Date and tb is DateTime:
        return a.to_datetime(b.offset), b  # type: ignore[union-attr]
    if ta is DateTime and tb is Date:
        return a, b.to_datetime(a.offset)  # type: ignore[union-attr]
    return None


def _bounds(c: tuple[int | None, ...], n: int, first: int,
            expand_to: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Earliest and latest complete components a partial value may stand for.

    Missing components down to index ``expand_to`` range over their whole span; finer ones
    are taken as their minimum (they cannot change a count of coarser periods).
    """
    size = len(c)
    low = list(c)
    high = list(c)
    for i in range(n, size):
        j = first + i
        lo = _MIN_FIELDS[j]
        low[i] = lo
        if j <= expand_to:
            high[i] = days_in_month(high[0], high[1]) if j == 2 else _MAX_FIELDS[j]  # type: ignore[arg-type]
        else:
            high[i] = lo
    return tuple(low), tuple(high)  # type: ignore[arg-type]


def _whole_months(x: tuple[int, ...], y: tuple[int, ...]) -> int:
    months = (y[0] - x[0]) * 12 + (y[1] - x[1])
    rx = x[2:]
    ry = y[2:]
    if months > 0 and ry < rx:
        months -= 1
    elif months < 0 and ry > rx:
        months += 1
    return months


def _duration(x: tuple[int, ...], y: tuple[int, ...], p: Precision, is_time: bool) -> int:
    """Whole periods of p from complete components x to y."""
    if is_time:
        xs = ((x[0] * 60 + x[1]) * 60 + x[2]) * 1000 + x[3]
        ys = ((y[0] * 60 + y[1]) * 60 + y[2]) * 1000 + y[3]
        return _trunc_div(ys - xs, _UNIT_MS[p])
    if p is Precision.YEAR or p is Precision.MONTH:
        full_x = x + (0,) * (7 - len(x))
        full_y = y + (0,) * (7 - len(y))
        months = _whole_months(full_x, full_y)
        return _trunc_div(months, 12) if p is Precision.YEAR else months
    fx = x + (0,) * (7 - len(x))
    fy = y + (0,) * (7 - len(y))
    return _trunc_div(_instant_ms(fy) - _instant_ms(fx), _UNIT_MS[p])


def _as_result(low: int, high: int) -> int | Uncertainty:
    return low if low == high else Uncertainty(low, high)


def _operands(a: Temporal, b: Temporal, p: Precision, normalise: bool
              ) -> tuple[tuple[int | None, ...], int, tuple[int | None, ...], int, int, bool] | None:
    pair = _as_pair(a, b)
    if pair is None:
        return None
    a, b = pair
    if type(a) is Time:
        if p < Precision.HOUR:
            raise CqlEvaluationError(f"a Time has no {p.name.lower()} component")
        return a._c, a._n, b._c, b._n, 3, True
    if type(a) is Date and p > Precision.DAY:
        raise CqlEvaluationError(f"a Date has no {p.name.lower()} component")
    if normalise and type(a) is DateTime:
        ac, bc = _aligned(a, b)  # type: ignore[arg-type]
    else:
        ac, bc = a._c, b._c
    return ac, a._n, bc, b._n, 0, False


def duration_between(a: Temporal, b: Temporal, p: Precision) -> Any:
    """Whole periods of ``p`` between a and b (int, Uncertainty or None).

    Each operand stands for every instant its missing components allow, down to the day
    (or to ``p`` when finer): ``years between @2005 and @2010`` is somewhere in [4, 5].
    """
    ops = _operands(a, b, p, True)
    if ops is None:
        return None
    ac, an, bc, bn, first, is_time = ops
    unit = Precision.DAY if p is Precision.WEEK else p
    expand_to = _FIELD_INDEX[unit] if is_time else max(_FIELD_INDEX[unit], 2)
    a_lo, a_hi = _bounds(ac, an, first, expand_to)
    b_lo, b_hi = _bounds(bc, bn, first, expand_to)
    low = _duration(a_hi, b_lo, unit, is_time)
    high = low if (a_lo == a_hi and b_lo == b_hi) else _duration(a_lo, b_hi, unit, is_time)
    if p is Precision.WEEK:
        low = _trunc_div(low, 7)
        high = _trunc_div(high, 7)
    return _as_result(low, high)


def _boundary_count(t: tuple[int, ...], p: Precision, is_time: bool) -> int:
    """How many p boundaries lie between the start of the calendar (or the day) and t."""
    if is_time:
        total = t[0]
        if p > Precision.HOUR:
            total = total * 60 + t[1]
            if p > Precision.MINUTE:
                total = total * 60 + t[2]
                if p > Precision.SECOND:
                    total = total * 1000 + t[3]
        return total
    if p is Precision.YEAR:
        return t[0]
    if p is Precision.MONTH:
        return t[0] * 12 + t[1]
    days = _ordinal(t[0], t[1], t[2])
    if p is Precision.WEEK:
        # Weeks start on Sunday; ordinal 7 (0001-01-07) is the first Sunday.
        return days // 7
    if p is Precision.DAY:
        return days
    total = days * 24 + t[3]
    if p > Precision.HOUR:
        total = total * 60 + t[4]
        if p > Precision.MINUTE:
            total = total * 60 + t[5]
            if p > Precision.SECOND:
                total = total * 1000 + t[6]
    return total


def difference_between(a: Temporal, b: Temporal, p: Precision) -> Any:
    """Boundaries of ``p`` crossed between a and b (int, Uncertainty or None).

    Offsets are normalised for hours and finer only: calendar days, months and years are
    counted as each value reads them (spec, DifferenceBetween).
    """
    if p is Precision.DAY and type(a) is Date and type(b) is Date and a._n == 3 and b._n == 3:
        # The common case (days between two full dates), by day numbers.
        return _ordinal(*b._c) - _ordinal(*a._c)  # type: ignore[arg-type]
    ops = _operands(a, b, p, p >= Precision.HOUR)
    if ops is None:
        return None
    ac, an, bc, bn, first, is_time = ops
    unit = Precision.DAY if p is Precision.WEEK else p
    expand_to = _FIELD_INDEX[unit]
    a_lo, a_hi = _bounds(ac, an, first, expand_to)
    b_lo, b_hi = _bounds(bc, bn, first, expand_to)
    low = _boundary_count(b_lo, p, is_time) - _boundary_count(a_hi, p, is_time)
    high = _boundary_count(b_hi, p, is_time) - _boundary_count(a_lo, p, is_time)
    return _as_result(low, high)


# --- parsing -------------------------------------------------------------------------------

def _digits(s: str, size: int) -> int | None:
    if len(s) != size or not (s.isascii() and s.isdigit()):
        return None
    return int(s)


def _date_fields(text: str) -> tuple[int, int | None, int | None] | None:
    parts = text.split("-")
    if not 1 <= len(parts) <= 3:
        return None
    year = _digits(parts[0], 4)
    if year is None:
        return None
    month = day = None
    if len(parts) > 1:
        month = _digits(parts[1], 2)
        if month is None:
            return None
        if len(parts) > 2:
            day = _digits(parts[2], 2)
            if day is None:
                return None
    return year, month, day


def _time_fields(text: str) -> tuple[int | None, int | None, int | None, int | None] | None:
    parts = text.split(":")
    if not 1 <= len(parts) <= 3:
        return None
    ms = None
    if len(parts) == 3 and "." in parts[2]:
        parts[2], frac = parts[2].split(".", 1)
        if not frac or not (frac.isascii() and frac.isdigit()):
            return None
        # Digits past milliseconds are dropped (CQL keeps millisecond precision).
        ms = int((frac + "00")[:3])
    values: list[int | None] = [None, None, None]
    for i, part in enumerate(parts):
        v = _digits(part, 2)
        if v is None:
            return None
        values[i] = v
    return values[0], values[1], values[2], ms


def _split_offset(text: str) -> tuple[str, Decimal | None] | None:
    """Splits a trailing 'Z' / ±hh:mm / ±hh / ±hhmm off a time; None when malformed."""
    if text.endswith("Z"):
        return text[:-1], Decimal(0)
    i = max(text.rfind("+"), text.rfind("-"))
    if i < 0:
        return text, None
    body, tz = text[:i], text[i + 1:]
    if ":" in tz:
        hh, _, mm = tz.partition(":")
    else:
        hh, mm = tz[:2], tz[2:] or "00"
    h = _digits(hh, 2)
    m = _digits(mm, 2)
    if h is None or m is None or m > 59:
        return None
    value = Decimal(h) + Decimal(m) / Decimal(60) if m else Decimal(h)
    return body, (-value if text[i] == "-" else value)


@lru_cache(maxsize=8192)
def _parse_date(text: str) -> Date | None:
    fields = _date_fields(text)
    if fields is None:
        return None
    try:
        return Date(fields[0], fields[1], fields[2])
    except InvalidTemporalValue:
        return None


@lru_cache(maxsize=16384)
def _parse_datetime(text: str, default_offset: Decimal | None) -> DateTime | None:
    date_part, sep, time_part = text.partition("T")
    fields = _date_fields(date_part)
    if fields is None:
        return None
    times: tuple[int | None, ...] = (None, None, None, None)
    offset = default_offset
    if sep:
        if fields[2] is None:
            return None
        split = _split_offset(time_part)
        if split is None:
            return None
        body, parsed_offset = split
        if parsed_offset is not None:
            offset = parsed_offset
        if body:
            parsed = _time_fields(body)
            if parsed is None:
                return None
            times = parsed
    try:
        return DateTime(fields[0], fields[1], fields[2], times[0], times[1], times[2],
                        times[3], offset)
    except InvalidTemporalValue:
        return None


@lru_cache(maxsize=4096)
def _parse_time(text: str) -> Time | None:
    if text.startswith("T"):
        text = text[1:]
    split = _split_offset(text)
    if split is None or not split[0]:
        return None
    fields = _time_fields(split[0])
    if fields is None:
        return None
    try:
        return Time(*fields)  # type: ignore[arg-type]
    except InvalidTemporalValue:
        return None
