"""CQL Date, DateTime and Time with precision (CQL 1.5, sections 'Date and Time' and
'Uncertainty').

Contract shared with the rest of the engine (bodies are implemented in this module):

* Values are immutable. Unspecified components are ``None`` and define the precision.
* ``DateTime.offset`` is a ``Decimal`` number of hours or ``None`` (no offset given: the
  evaluation request's offset applies when comparing).
* Comparisons return ``None`` when the answer depends on components one side lacks.
* Durations and differences at mixed precision return an ``values.Uncertainty``.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from .values import Quantity


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
        raise NotImplementedError


class Date:
    __slots__ = ("day", "month", "year")

    def __init__(self, year: int, month: int | None = None, day: int | None = None) -> None:
        raise NotImplementedError

    @property
    def precision(self) -> Precision:
        raise NotImplementedError

    @classmethod
    def parse(cls, text: str) -> Date | None:
        """ISO 8601 'YYYY[-MM[-DD]]'; None when the text is not a valid date."""
        raise NotImplementedError

    def iso(self) -> str:
        raise NotImplementedError

    def add(self, q: Quantity) -> Date:
        raise NotImplementedError

    def subtract(self, q: Quantity) -> Date:
        raise NotImplementedError

    def to_datetime(self) -> DateTime:
        raise NotImplementedError

    def component(self, p: Precision) -> int | None:
        raise NotImplementedError

    def _cql_equal(self, other: Any) -> bool | None:
        raise NotImplementedError

    def _cql_equivalent(self, other: Any) -> bool:
        raise NotImplementedError

    def _cql_compare(self, other: Any, precision: Precision | None = None) -> int | None:
        raise NotImplementedError


class DateTime:
    __slots__ = ("day", "hour", "millisecond", "minute", "month", "offset", "second", "year")

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
        raise NotImplementedError

    @property
    def precision(self) -> Precision:
        raise NotImplementedError

    @classmethod
    def parse(cls, text: str) -> DateTime | None:
        """ISO 8601 / FHIR dateTime, any precision, optional 'Z' or ±hh:mm offset."""
        raise NotImplementedError

    def iso(self) -> str:
        raise NotImplementedError

    def add(self, q: Quantity) -> DateTime:
        raise NotImplementedError

    def subtract(self, q: Quantity) -> DateTime:
        raise NotImplementedError

    def to_date(self) -> Date:
        raise NotImplementedError

    def component(self, p: Precision) -> int | None:
        raise NotImplementedError

    def _cql_equal(self, other: Any) -> bool | None:
        raise NotImplementedError

    def _cql_equivalent(self, other: Any) -> bool:
        raise NotImplementedError

    def _cql_compare(self, other: Any, precision: Precision | None = None) -> int | None:
        raise NotImplementedError


class Time:
    __slots__ = ("hour", "millisecond", "minute", "second")

    def __init__(
        self,
        hour: int,
        minute: int | None = None,
        second: int | None = None,
        millisecond: int | None = None,
    ) -> None:
        raise NotImplementedError

    @property
    def precision(self) -> Precision:
        raise NotImplementedError

    @classmethod
    def parse(cls, text: str) -> Time | None:
        raise NotImplementedError

    def iso(self) -> str:
        raise NotImplementedError

    def _cql_equal(self, other: Any) -> bool | None:
        raise NotImplementedError

    def _cql_equivalent(self, other: Any) -> bool:
        raise NotImplementedError

    def _cql_compare(self, other: Any, precision: Precision | None = None) -> int | None:
        raise NotImplementedError


Temporal = Date | DateTime | Time


def duration_between(a: Temporal, b: Temporal, p: Precision) -> Any:
    """Whole periods of ``p`` between a and b (int, Uncertainty or None)."""
    raise NotImplementedError


def difference_between(a: Temporal, b: Temporal, p: Precision) -> Any:
    """Boundaries of ``p`` crossed between a and b (int, Uncertainty or None)."""
    raise NotImplementedError
