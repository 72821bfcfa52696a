"""CQL queries through the whole engine: translated CQL, compiled once, evaluated."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import Engine
from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.datatypes.values import CqlTuple

pytestmark = needs_translator

QUERIES = """
library Queries version '1.0.0'

define "Where": ({1, 2, 3, 4, 5}) X where X > 2
define "Return": ({1, 2, 3}) X return X * 10
define "Return Distinct By Default": ({1, 2, 2, 3, 3}) X return X
define "Return All": ({1, 2, 2, 3, 3}) X return all X
define "No Return Keeps Duplicates": ({1, 2, 2}) X where X > 0
define "Distinct Tuples": ({1, 1, 2}) X return Tuple { v: X }
define "Sort Asc": ({3, 1, 2}) X sort asc
define "Sort Desc": ({3, 1, null, 2}) X sort desc
define "Sort Asc Nulls First": ({3, null, 1}) X sort asc
define "Sort By Expression":
  ({ Tuple { n: 'b', v: 2 }, Tuple { n: 'a', v: 2 }, Tuple { n: 'c', v: 1 } }) T
    sort by v desc, n asc
define "Sort By Return Element":
  ({3, 1, 2}) X return Tuple { doubled: X * 2 } sort by doubled
define "Let":
  ({1, 2, 3}) X let Y: X * 2, Z: Y + 1 where Z > 4 return Tuple { x: X, z: Z }
define "Multi Source":
  from ({1, 2}) A, ({10, 20}) B where A * 10 <= B return A + B
define "Multi Source Tuples": from ({1, 2}) A, ({'x'}) B
define "With":
  ({1, 2, 3, 4}) X with ({2, 4, 6}) Y such that Y = X
define "Without":
  ({1, 2, 3, 4}) X without ({2, 4, 6}) Y such that Y = X
define "With And Without":
  ({1, 2, 3, 4}) X
    with ({1, 2, 3}) Y such that Y = X
    without ({3}) Z such that Z = X
define "Aggregate Sum": ({1, 2, 3, 4}) X aggregate R starting 0: R + X
define "Aggregate Distinct": ({1, 1, 2}) X aggregate distinct R starting 0: R + X
define "Aggregate All": ({1, 1, 2}) X aggregate all R starting 0: R + X
define "Aggregate Without Starting": ({1, 2}) X aggregate R: Coalesce(R, 0) + X
define "Singleton Source": (5) X return X + 1
define "Singleton Filtered Out": (5) X where X > 10
define "Singleton Where Kept": (5) X where X > 1
define "Null Source": (null as Integer) X return X
define "Nested Query":
  ({1, 2, 3}) X where exists (({2, 3, 4}) Y where Y = X + 1)
define "Correlated Return":
  ({1, 2}) X return (({10, 20}) Y return Y + X)
define "Empty": (List<Integer>{}) X where X > 1
define "Where Null Is False": ({1, 2}) X where null as Boolean
define "Query Over Tuple List Property":
  ({ Tuple { a: 1 }, Tuple { a: 2 } }) T return T.a
define "Sort Strings": ({'b', 'a', 'C'}) S sort desc
define "Sort Decimals By Direction": ({1.5, 0.25, 3.0}) D sort asc
define "Let Referencing Outer Define": ({1, 2}) X let total: "Aggregate Sum" return X + total
define "Aggregate Reads Lets": ({1, 2, 3}) X let D: X * 10 aggregate R starting 0: R + D
define "Multi Source Aggregate":
  from ({1, 2}) A, ({10, 20}) B aggregate R starting 0: R + A * B
define function "Plus"(codes List<Integer>, n Integer): codes C return C + n
define function "Matches"(codes List<Integer>, n Integer):
  exists (({1, 2, 3}) X where X in "Plus"(codes, n))
define "Invariant Call Per Run": { "Matches"({0}, 1), "Matches"({10}, 1), "Matches"({1}, 1) }
define "Correlated Subquery": ({1, 2, 3}) X return all Count(({1, 2, 3}) Y where Y < X)
define "Invariant Subquery": ({1, 2, 3}) X where X in (({2, 3, 4}) Y where Y > 2)
define "Variant Call": ({1, 2, 3}) X where "Plus"({X}, 0) = {X}
"""


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    engine = Engine.from_elm(translate(QUERIES))
    return engine.evaluate("Queries", now=DateTime(2025, 1, 1))


@pytest.mark.parametrize(
    ("define", "expected"),
    [
        ("Where", [3, 4, 5]),
        ("Return", [10, 20, 30]),
        ("Return Distinct By Default", [1, 2, 3]),
        ("Return All", [1, 2, 2, 3, 3]),
        ("No Return Keeps Duplicates", [1, 2, 2]),
        ("Distinct Tuples", [CqlTuple(v=1), CqlTuple(v=2)]),
        ("Sort Asc", [1, 2, 3]),
        ("Sort Desc", [3, 2, 1, None]),
        ("Sort Asc Nulls First", [None, 1, 3]),
        ("Sort By Expression", [CqlTuple(n="a", v=2), CqlTuple(n="b", v=2), CqlTuple(n="c", v=1)]),
        ("Sort By Return Element", [CqlTuple(doubled=2), CqlTuple(doubled=4), CqlTuple(doubled=6)]),
        ("Let", [CqlTuple(x=2, z=5), CqlTuple(x=3, z=7)]),
        ("Multi Source", [11, 21, 22]),
        ("Multi Source Tuples", [CqlTuple(A=1, B="x"), CqlTuple(A=2, B="x")]),
        ("With", [2, 4]),
        ("Without", [1, 3]),
        ("With And Without", [1, 2]),
        ("Aggregate Sum", 10),
        ("Aggregate Distinct", 3),
        ("Aggregate All", 4),
        ("Aggregate Without Starting", 3),
        ("Singleton Source", 6),
        ("Singleton Filtered Out", None),
        ("Singleton Where Kept", 5),
        ("Null Source", None),
        ("Nested Query", [1, 2, 3]),
        ("Correlated Return", [[11, 21], [12, 22]]),
        ("Empty", []),
        ("Where Null Is False", []),
        ("Query Over Tuple List Property", [1, 2]),
        ("Sort Strings", ["b", "a", "C"]),
        ("Sort Decimals By Direction", [Decimal("0.25"), Decimal("1.5"), Decimal("3.0")]),
        ("Let Referencing Outer Define", [11, 12]),
        ("Aggregate Reads Lets", 60),
        ("Multi Source Aggregate", 90),
        ("Invariant Call Per Run", [True, False, True]),
        ("Correlated Subquery", [0, 1, 2]),
        ("Invariant Subquery", [3]),
        ("Variant Call", [1, 2, 3]),
    ],
)
def test_query(results: dict[str, Any], define: str, expected: Any) -> None:
    assert results[define] == expected
