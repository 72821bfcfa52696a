"""List and aggregate operators end to end: CQL translated by the reference translator,
compiled and evaluated by the engine. Node types the translator does not emit for CQL 1.5
(Slice with any indexes, Filter, ForEach, Current, Times, Sort) are written as ELM by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import Engine
from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.datatypes.values import CqlTuple, Quantity
from trd_cds.engine.errors import CqlEvaluationError
from trd_cds.engine.runtime.compiler import register_all_operators
from trd_cds.engine.runtime.registry import NODES

# Importing the operator families registers them; only then can NODES be asked.
QUANTITY_LITERALS = register_all_operators() > 0 and "Quantity" in NODES

NOW = DateTime(2024, 1, 1, 0, 0, 0, 0, Decimal(0))

SNIPPETS = """
library ListOps version '1'

define Tail: Tail({1, 2, 3, 4})
define TailOfNull: Tail(null as List<Integer>)
define Skip2: Skip({1, 2, 3, 4, 5}, 2)
define SkipNull: Skip({1, 2, 3}, null)
define Take2: Take({1, 2, 3, 4}, 2)
define TakeNull: Take({1, 2, 3}, null as Integer)
define TakeTooMany: Take({1, 2}, 3)
define TakeNegative: Take({1, 2, 3}, -1)
define SkipNegative: Skip({1, 2, 3}, -1)
define First: First({1, 2, 5})
define LastOfEmpty: Last({} as List<Integer>)
define IndexOfFound: IndexOf({1, 3, 5, 7}, 5)
define IndexOfMissing: IndexOf({1, 3, 5, 7}, 4)
define Flatten: flatten {{1, 2}, {3, 4, 5}}
define FlattenNullInner: flatten {{1}, null, {null}}
define Distinct: distinct {1, 3, 3, null, 5, null}
define ExistsNull: exists ({null} as List<Integer>)
define SortDesc: ({4, 5, null, 1}) L sort desc
define Singleton: singleton from {7}
define SingletonOfMany: singleton from {1, 2}
define Repeat: ({1, 2}).repeat($this)
define CountNonNull: Count({1, null, 3})
define SumLong: Sum({6L, 2L, 3L})
define AvgOfIntegers: Avg({1, 2, 4})
define MaxOfDates: Max({@2012-12-31, @2013-01-01, @2012-01-01})
define ModeOfStrings: Mode({'a', 'b', 'b', 'c'})
define UnionDistinct: {1, 2, 2} union {2, 3}
define ExceptNullRight: {1, 1, 4} except null
define ProperlyIncludesPoint: {'a', 'b'} properly includes 'a'
define AllTrueNull: AllTrue(null as List<Boolean>)
"""

QUANTITY_SNIPPETS = """
library QuantityAggregates version '1'

define MedianOfQuantities: Median({1.0 'mg', 3.0 'mg', 2.0 'mg'})
define SumOfMixedUnits: Sum({1 'g', 250 'mg'})
define StdDevOfQuantities: StdDev({1.0 'mg', 2.0 'mg', 3.0 'mg', 4.0 'mg', 5.0 'mg'})
define MinAcrossUnits: Min({1 'g', 900 'mg'})
"""


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    engine = Engine.from_elm(translate(SNIPPETS))
    names = [n for n in engine.library("ListOps").defs if n != "SingletonOfMany"]
    return engine.evaluate("ListOps", now=NOW, expressions=names)


@needs_translator
@pytest.mark.parametrize(
    ("define", "expected"),
    [
        ("Tail", [2, 3, 4]),
        ("TailOfNull", None),
        ("Skip2", [3, 4, 5]),
        ("SkipNull", [1, 2, 3]),
        ("Take2", [1, 2]),
        ("TakeNull", []),
        ("TakeTooMany", [1, 2]),
        ("TakeNegative", []),
        ("SkipNegative", []),
        ("First", 1),
        ("LastOfEmpty", None),
        ("IndexOfFound", 2),
        ("IndexOfMissing", -1),
        ("Flatten", [1, 2, 3, 4, 5]),
        ("FlattenNullInner", [1, None]),
        ("Distinct", [1, 3, None, 5]),
        ("ExistsNull", False),
        ("SortDesc", [5, 4, 1, None]),
        ("Singleton", 7),
        ("Repeat", [1, 2]),
        ("CountNonNull", 2),
        ("SumLong", 11),
        ("AvgOfIntegers", Decimal("2.33333333")),
        ("ModeOfStrings", "b"),
        ("UnionDistinct", [1, 2, 3]),
        ("ExceptNullRight", [1, 4]),
        ("ProperlyIncludesPoint", True),
        ("AllTrueNull", True),
    ],
)
def test_translated(results: dict[str, Any], define: str, expected: Any) -> None:
    assert results[define] == expected


@needs_translator
@pytest.mark.skipif(not QUANTITY_LITERALS, reason="quantity literals are not compiled yet")
@pytest.mark.parametrize(
    ("define", "expected"),
    [
        ("MedianOfQuantities", Quantity(Decimal(2), "mg")),
        ("SumOfMixedUnits", Quantity(Decimal("1.25"), "g")),
        ("StdDevOfQuantities", Quantity(Decimal("1.58113883"), "mg")),
        ("MinAcrossUnits", Quantity(Decimal(900), "mg")),
    ],
)
def test_quantity_aggregates(define: str, expected: Quantity) -> None:
    engine = Engine.from_elm(translate(QUANTITY_SNIPPETS))
    assert engine.evaluate("QuantityAggregates", now=NOW, expressions=[define])[define] == expected


@needs_translator
def test_max_of_dates(results: dict[str, Any]) -> None:
    assert results["MaxOfDates"].iso() == "2013-01-01"


@needs_translator
def test_singleton_from_many_is_an_error() -> None:
    engine = Engine.from_elm(translate(SNIPPETS))
    with pytest.raises(CqlEvaluationError, match="singleton from"):
        engine.evaluate("ListOps", now=NOW, expressions=["SingletonOfMany"])


# --- hand-written ELM ----------------------------------------------------------------------

T = "{urn:hl7-org:elm-types:r1}"


def lit(value: int) -> dict[str, Any]:
    return {"type": "Literal", "valueType": T + "Integer", "value": str(value)}


def int_list(*items: int | None) -> dict[str, Any]:
    return {"type": "List", "element": [{"type": "Null"} if i is None else lit(i) for i in items]}


def evaluate(expression: dict[str, Any]) -> Any:
    library = {
        "library": {
            "identifier": {"id": "Hand", "version": "1"},
            "statements": {
                "def": [
                    {
                        "name": "X",
                        "context": "Unfiltered",
                        "accessLevel": "Public",
                        "expression": expression,
                    }
                ]
            },
        }
    }
    return Engine.from_elm([library]).evaluate("Hand", now=NOW)["X"]


def slice_(
    start: int | None = None, end: int | None = None, source: dict[str, Any] | None = None
) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "Slice", "source": source or int_list(1, 2, 3, 4, 5)}
    if start is not None:
        node["startIndex"] = lit(start)
    if end is not None:
        node["endIndex"] = lit(end)
    return node


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, [1, 2, 3, 4, 5]),  # SliceAll
        (1, None, [2, 3, 4, 5]),  # SliceStart
        (1, 3, [2, 3]),  # SliceEnd
        (5, None, []),  # SlicePast
        (0, 9, [1, 2, 3, 4, 5]),  # an end past the list stops at its end
        (4, 2, []),
        # ELM 1.5: a negative index gives an empty list (CQL 2.0 would count from the end).
        (-2, None, []),
        (1, -1, []),
    ],
)
def test_slice(start: int | None, end: int | None, expected: list[int]) -> None:
    assert evaluate(slice_(start, end)) == expected


def test_slice_of_empty_and_null() -> None:
    assert evaluate(slice_(source=int_list())) == []
    assert evaluate(slice_(1, source={"type": "Null"})) is None


def test_filter_keeps_true_conditions() -> None:
    condition = {"type": "Greater", "operand": [{"type": "AliasRef", "name": "X"}, lit(2)]}
    node = {
        "type": "Filter",
        "scope": "X",
        "source": int_list(1, 3, None, 5, 2),
        "condition": condition,
    }
    assert evaluate(node) == [3, 5]


def test_for_each_with_current() -> None:
    element = {"type": "Multiply", "operand": [{"type": "Current"}, lit(10)]}
    node = {"type": "ForEach", "source": int_list(1, None, 3), "element": element}
    assert evaluate(node) == [10, None, 30]


def test_nested_current_scopes() -> None:
    # ForEach X in {1, 2}: Filter {1, 2, 3} where Current(inner) > Current(X)
    inner = {
        "type": "Filter",
        "source": int_list(1, 2, 3),
        "condition": {
            "type": "Greater",
            "operand": [{"type": "Current"}, {"type": "Current", "scope": "X"}],
        },
    }
    node = {"type": "ForEach", "scope": "X", "source": int_list(1, 2), "element": inner}
    assert evaluate(node) == [[2, 3], [3]]


def test_times_is_a_cartesian_product_of_tuples() -> None:
    def tuples(name: str, *values: int) -> dict[str, Any]:
        return {
            "type": "List",
            "element": [
                {"type": "Tuple", "element": [{"name": name, "value": lit(v)}]} for v in values
            ],
        }

    result = evaluate({"type": "Times", "operand": [tuples("a", 1, 2), tuples("b", 3)]})
    assert result == [CqlTuple(a=1, b=3), CqlTuple(a=2, b=3)]


def test_sort_by_column_nulls_first() -> None:
    def row(v: int | None) -> dict[str, Any]:
        value = {"type": "Null"} if v is None else lit(v)
        return {"type": "Tuple", "element": [{"name": "n", "value": value}]}

    node = {
        "type": "Sort",
        "source": {"type": "List", "element": [row(2), row(None), row(1)]},
        "by": [{"type": "ByColumn", "path": "n", "direction": "asc"}],
    }
    assert [t["n"] for t in evaluate(node)] == [None, 1, 2]


def test_aggregate_with_a_path_ignores_missing_values() -> None:
    def row(v: int | None) -> dict[str, Any]:
        element = [] if v is None else [{"name": "dose", "value": lit(v)}]
        return {"type": "Tuple", "element": [*element, {"name": "id", "value": lit(0)}]}

    source = {"type": "List", "element": [row(2), row(None), row(5)]}
    assert (
        evaluate({"type": "Sum", "source": source, "path": "dose", "resultTypeName": T + "Integer"})
        == 7
    )
    assert evaluate({"type": "Count", "source": source, "path": "dose"}) == 2
    assert evaluate({"type": "Max", "source": {"type": "Null"}, "path": "dose"}) is None


def test_sort_by_expression_over_the_element_properties() -> None:
    def row(v: int) -> dict[str, Any]:
        return {"type": "Tuple", "element": [{"name": "n", "value": lit(v)}]}

    negated = {"type": "Negate", "operand": {"type": "IdentifierRef", "name": "n"}}
    node = {
        "type": "Sort",
        "source": {"type": "List", "element": [row(2), row(3), row(1)]},
        "by": [{"type": "ByExpression", "direction": "asc", "expression": negated}],
    }
    assert [t["n"] for t in evaluate(node)] == [3, 2, 1]


def test_sort_by_expression_of_the_element_itself() -> None:
    modulo = {"type": "Modulo", "operand": [{"type": "Current"}, lit(3)]}
    node = {
        "type": "Sort",
        "source": int_list(5, 3, 4, None, 6),
        "by": [
            {"type": "ByExpression", "direction": "desc", "expression": modulo},
            {"type": "ByDirection", "direction": "asc"},
        ],
    }
    # Keys 2, 0, 1, null, 0: descending, then by value; the null key sorts last.
    assert evaluate(node) == [5, 4, 3, 6, None]
