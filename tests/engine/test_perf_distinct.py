"""distinct buckets rows by a fingerprint so it does not compare every row with every other:
the result must be that of the plain pairwise definition, for every mix of values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trd_cds.engine.datatypes.temporal import Date, DateTime
from trd_cds.engine.datatypes.values import CqlTuple, Interval, Uncertainty
from trd_cds.engine.ops.query import _fingerprint, _same, distinct_rows


def pairwise_distinct(rows: list[Any]) -> list[Any]:
    out: list[Any] = []
    for row in rows:
        if not any(_same(row, kept) for kept in out):
            out.append(row)
    return out


dates = st.one_of(
    st.builds(Date, st.just(2024), st.sampled_from([1, 2]), st.sampled_from([1, 2, None])),
    st.builds(Date, st.just(2024), st.none(), st.none()),
)
datetimes = st.one_of(
    st.builds(DateTime, st.just(2024), st.just(1), st.sampled_from([1, 2]),
              offset=st.sampled_from([None, Decimal(0), Decimal(1)])),
    st.builds(DateTime, st.just(2024), st.just(1), st.sampled_from([1, 2]),
              st.sampled_from([0, 1, 23]), st.just(0),
              offset=st.sampled_from([None, Decimal(0), Decimal(1)])),
)
numbers = st.one_of(
    st.sampled_from([0, 1, 2]),
    st.sampled_from([Decimal("1"), Decimal("1.0"), Decimal("2.50")]),
    st.builds(Uncertainty, st.sampled_from([1, 2]), st.sampled_from([1, 2, 3])),
)
temporals = st.one_of(dates, datetimes)
day_intervals = st.builds(
    lambda low, high, lc, hc: Interval(low, high, lc, hc),
    st.one_of(st.none(), st.builds(Date, st.just(2024), st.just(1), st.integers(1, 4))),
    st.one_of(st.none(), st.builds(Date, st.just(2024), st.just(1), st.integers(5, 8))),
    st.booleans(), st.booleans())
int_intervals = st.builds(lambda low, high, lc, hc: Interval(low, high, lc, hc),
                          st.one_of(st.none(), st.integers(0, 3)),
                          st.one_of(st.none(), st.integers(4, 6)), st.booleans(), st.booleans())
tuples = st.builds(lambda a, b, c: CqlTuple(a=a, b=b, c=c), st.one_of(st.none(), temporals),
                   st.one_of(st.none(), numbers), st.one_of(st.none(), day_intervals))
# Tuples and lists inside rows are keyed coarsely: rows that differ only deep inside.
nested = st.builds(lambda inner, items, key: CqlTuple(inner=inner, items=items, key=key),
                   st.one_of(st.none(), tuples),
                   st.lists(st.one_of(st.none(), tuples), max_size=3),
                   st.sampled_from(["a", "b"]))
lists_of_tuples = st.lists(st.one_of(st.none(), tuples), max_size=3)
# A CQL list holds values of one type (a temporal list may mix Dates and DateTimes).
rows = st.one_of(*(st.lists(st.one_of(st.none(), kind), max_size=12)
                   for kind in (numbers, temporals, tuples, day_intervals, int_intervals,
                                nested, lists_of_tuples, st.sampled_from(["a", "b"]))))


@settings(max_examples=300, deadline=None)
@given(rows)
def test_distinct_equals_pairwise_definition(values: list[Any]) -> None:
    # The same objects in the same order: first occurrences are kept.
    assert [id(v) for v in distinct_rows(values)] == [id(v) for v in pairwise_distinct(values)]


def test_dates_of_different_days_fall_in_different_buckets() -> None:
    a = CqlTuple(takenOn=Date(2024, 1, 1), score=Decimal(5))
    b = CqlTuple(takenOn=Date(2024, 1, 2), score=Decimal(5))
    assert _fingerprint(a) != _fingerprint(b)
    # Equal values always share a bucket, whatever their representation.
    assert _fingerprint(Date(2024, 1, 1)) == _fingerprint(DateTime(2024, 1, 1))
    assert _fingerprint(1) == _fingerprint(Decimal("1.00"))
    assert _fingerprint(Uncertainty(3, 3)) == _fingerprint(3)
    assert _fingerprint(Interval(0, 5, False, True)) == _fingerprint(Interval(1, 5))
    assert _fingerprint(Interval(Date(2024, 1, 1), Date(2024, 1, 30))) != _fingerprint(
        Interval(Date(2024, 2, 1), Date(2024, 2, 29)))


def test_rows_that_are_lists_of_tuples_are_not_compared_pairwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A query returning one list of findings per drafted order: rows differ in the tuples they
    # hold (their order ids), so distinct must bucket them apart instead of comparing every
    # row with every other (quadratic in the number of orders).
    import trd_cds.engine.ops.query as query

    compared = 0
    real_same = query._same

    def counting_same(a: Any, b: Any) -> bool:
        nonlocal compared
        compared += 1
        return real_same(a, b)

    monkeypatch.setattr(query, "_same", counting_same)
    rows = [
        [CqlTuple(ruleId=rule, orderId=f"order-{n}", drug="phenelzine")
         for rule in ("maoi-washout", "pregnancy", "older-adult")]
        for n in range(300)
    ]
    kept = distinct_rows([*rows, rows[0]])
    assert kept == rows
    # Only the repeated row meets its twin; no row is compared with the others.
    assert compared <= 2
