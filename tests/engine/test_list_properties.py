"""Property tests: the hashed and bucketed membership of the list operators agrees with the
definition (pairwise CQL equality, nulls equal to each other)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trd_cds.engine.datatypes import values
from trd_cds.engine.datatypes.temporal import Date, DateTime
from trd_cds.engine.datatypes.values import Code
from trd_cds.engine.ops.list import (
    list_distinct,
    list_except,
    list_includes,
    list_intersect,
    list_union,
)


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return values.equal(a, b) is True


def member(x: Any, lst: list[Any]) -> bool:
    return any(same(x, e) for e in lst)


def naive_distinct(lst: list[Any]) -> list[Any]:
    out: list[Any] = []
    for x in lst:
        if not member(x, out):
            out.append(x)
    return out


resources = st.builds(
    lambda kind, ident, status: {"resourceType": kind, "id": ident, "status": status},
    st.sampled_from(["Observation", "Condition"]),
    st.sampled_from(["1", "2", None]),
    st.sampled_from(["final", "amended"]),
)
dates = st.sampled_from([Date(2020), Date(2020, 12), Date(2020, 12, 31), Date(2021, 1, 1),
                         Date(2021, 1)])
datetimes = st.builds(
    lambda day, hour, offset: DateTime(2020, 12, day, hour, 0, 0, 0, offset),
    st.integers(30, 31), st.sampled_from([0, 5, 19, 23]), st.sampled_from([Decimal(0), Decimal(-5)]),
)
codes = st.builds(Code, st.sampled_from(["1", "2"]), st.sampled_from(["s", None]),
                  st.none(), st.sampled_from(["one", None]))
decimals_and_ints = st.one_of(st.integers(0, 3), st.sampled_from([Decimal("1.0"), Decimal(2)]))
elements = st.sampled_from([
    st.integers(0, 5), st.text("ab", max_size=2), resources, dates, datetimes, decimals_and_ints,
    codes,
])


@st.composite
def list_pairs(draw: st.DrawFn) -> tuple[list[Any], list[Any]]:
    kind = draw(elements)
    item = st.one_of(st.none(), kind)
    return draw(st.lists(item, max_size=8)), draw(st.lists(item, max_size=8))


@given(list_pairs())
def test_set_operators_match_their_definition(pair: tuple[list[Any], list[Any]]) -> None:
    a, b = pair
    assert list_distinct(a) == naive_distinct(a)
    assert list_union(a, b) == naive_distinct(a + b)
    assert list_intersect(a, b) == [x for x in naive_distinct(a) if member(x, b)]
    assert list_except(a, b) == [x for x in naive_distinct(a) if not member(x, b)]
    assert list_includes(a, b) is all(member(x, a) for x in b)
