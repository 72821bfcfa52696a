"""CQL System values other than the temporal ones, and the generic value semantics.

Python representation of CQL values (the contract every engine module codes against):

=============  =====================================================================
CQL            Python
=============  =====================================================================
null           ``None``
Boolean        ``bool``
Integer, Long  ``int`` (the ELM result type tells them apart where it matters)
Decimal        ``decimal.Decimal``, at most 8 decimal places
String         ``str``
Date/DateTime  ``temporal.Date`` / ``temporal.DateTime`` / ``temporal.Time``
Quantity       :class:`Quantity`
Ratio          :class:`Ratio`
Code/Concept   :class:`Code` / :class:`Concept`
Tuple          :class:`CqlTuple`
List           ``list``
Interval       :class:`Interval`
Uncertainty    :class:`Uncertainty` (an imprecise Integer, e.g. a duration at mixed precision)
FHIR data      plain JSON ``dict`` (resources, elements) or values the FHIR provider wraps
=============  =====================================================================

Temporal classes take part in :func:`equal`, :func:`equivalent` and :func:`compare` through
the methods ``_cql_equal``, ``_cql_equivalent`` and ``_cql_compare``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Code:
    code: str | None
    system: str | None = None
    version: str | None = None
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Concept:
    codes: tuple[Code, ...]
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Quantity:
    """A decimal value with a UCUM unit; ``unit`` is ``'1'`` when dimensionless."""

    value: Decimal | None
    unit: str = "1"


@dataclass(frozen=True, slots=True)
class Ratio:
    numerator: Quantity
    denominator: Quantity


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """An integer known only to lie in [low, high] (CQL spec, 'Uncertainty')."""

    low: Any
    high: Any


@dataclass(frozen=True, slots=True)
class Interval:
    low: Any
    high: Any
    low_closed: bool = True
    high_closed: bool = True
    # The point type name from ELM (e.g. "{urn:hl7-org:elm-types:r1}Integer") when known; lets
    # ``Interval[null, null]`` know its point type.
    point_type: str | None = field(default=None, compare=False)


class CqlTuple(Mapping[str, Any]):
    """An immutable CQL Tuple; element order is kept, equality ignores it."""

    __slots__ = ("_elements",)

    def __init__(self, elements: Mapping[str, Any] | None = None, /, **kw: Any) -> None:
        self._elements: dict[str, Any] = dict(elements or {}, **kw)

    def __getitem__(self, key: str) -> Any:
        return self._elements[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._elements)

    def __len__(self) -> int:
        return len(self._elements)

    def __repr__(self) -> str:
        return f"CqlTuple({self._elements!r})"

    def __hash__(self) -> int:
        return hash(frozenset(self._elements))


def equal(a: Any, b: Any) -> bool | None:
    """CQL ``=``: null when either side is null or the answer is uncertain."""
    raise NotImplementedError


def equivalent(a: Any, b: Any) -> bool:
    """CQL ``~``: never null."""
    raise NotImplementedError


def compare(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 for ordered types; None when null or uncertain (imprecise temporal values)."""
    raise NotImplementedError


def successor(x: Any) -> Any:
    """CQL ``successor of``; raises CqlEvaluationError past the maximum value."""
    raise NotImplementedError


def predecessor(x: Any) -> Any:
    """CQL ``predecessor of``; raises CqlEvaluationError past the minimum value."""
    raise NotImplementedError
