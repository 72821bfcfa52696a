"""The structured CQL System values: Code, Concept, Quantity, Ratio, Uncertainty, Interval, Tuple.

Plain immutable data, with no semantics: equality, comparison and the other shared rules live in
:mod:`values`, which also re-exports these classes. Both :mod:`temporal` and :mod:`values` build
on this module, so neither needs the other to define its values.
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
