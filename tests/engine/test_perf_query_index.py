"""Queries over a define look candidate rows up by key or by date range instead of scanning.

Each where clause below starts with a Message that records every row it is evaluated for, so
the tests can count the rows a query visits. Pruned results must equal those of a full scan
(pruning switched off) for every kind of argument, nulls and partial dates included.
"""

from __future__ import annotations

from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import Engine
from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.ops import query_index

pytestmark = needs_translator

LIBRARY = """
library PerfIndex version '1.0.0'

define "Rows": {
  Tuple { n: 1, key: 'a', num: 1, d: @2024-01-05 },
  Tuple { n: 2, key: 'b', num: 2, d: @2024-01-10 },
  Tuple { n: 3, key: null as String, num: null as Integer, d: null as Date },
  Tuple { n: 4, key: 'a', num: 3, d: @2024-02 },
  Tuple { n: 5, key: 'c', num: 1, d: @2024-01-20 },
  Tuple { n: 6, key: 'd', num: 4, d: @2024-03-01 },
  Tuple { n: 7, key: 'e', num: 5, d: @2024-01-10 },
  Tuple { n: 8, key: 'a', num: 6, d: @2023-12-31 },
  Tuple { n: 9, key: 'f', num: 7, d: @2024-06-15 },
  Tuple { n: 10, key: 'g', num: 8, d: @2024-01-15 }
}

define function "By Key"(k String):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.key = k return R.n
define function "Key Left"(k String):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and k = R.key return R.n
define function "By Keys"(ks List<String>):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.key in ks return R.n
define function "By Num"(x Integer):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.num = x and R.key != 'c' return R.n
define function "In Window"(w Interval<Date>):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.d in w return R.n
define function "Soon After"(d Date):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.d > d and R.d <= d + 10 days return R.n
define function "In Month Of"(w Interval<Date>):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.d in month of w
    return R.n
define function "On Day"(d Date):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.d = d return R.n
define function "Not Before"(d Date):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and d <= R.d return R.n
define function "Keys Soon After"(ks List<String>, d Date):
  "Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.key in ks
    and R.d > d and R.d <= d + 10 days return R.n
define function "Count Key"(k String):
  Count("Rows" R where Message(true, R.n is not null, 'visit', 'Message', 'row') and R.key = k)

define "Cases": {
  "By Key"('a'), "By Key"('zz'), "By Key"(null), "Key Left"('b'),
  "By Keys"({'a', 'c'}), "By Keys"({'a', null}), "By Keys"(null), "By Keys"(List<String>{}),
  "By Num"(1), "By Num"(null),
  "In Window"(Interval[@2024-01-05, @2024-01-15]), "In Window"(Interval(@2024-01-05, @2024-01-15)),
  "In Window"(Interval[@2024-01-10, null]), "In Window"(Interval[null, @2024-01-10]),
  "In Window"(null), "In Window"(Interval[@2024-01, @2024-02]),
  "Soon After"(@2024-01-05), "Soon After"(@2024-01), "Soon After"(null),
  "Not Before"(@2024-01-20), "In Month Of"(Interval[@2024-01-15, @2024-01-20]),
  { "Count Key"('a') },
  "On Day"(@2024-01-10), "On Day"(@2024-01), "On Day"(@2024-02), "On Day"(null)
}

define "Keys And Range": "Keys Soon After"({'a', 'b', 'e', 'g'}, @2024-01-06)
define "Lookup B": "By Key"('b')
define "Window": "In Window"(Interval[@2024-01-09, @2024-01-11])
define "Day": "On Day"(@2024-01-10)
define "Each Row By Key": "Rows" X return all Count("By Key"(X.key))
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_elm(translate(LIBRARY))


def run(engine: Engine, define: str) -> tuple[Any, int]:
    """The define's value and how many rows its queries visited."""
    lib = engine.library("PerfIndex")
    ctx = engine.context(lib, data=None, now=DateTime(2025, 1, 1))
    entry = lib.defs[define]
    assert entry.evaluator is not None
    value = entry.evaluator(ctx)
    return value, sum(1 for m in ctx.messages if m[2] == "row")


def test_pruned_results_equal_a_full_scan(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    pruned, pruned_visits = run(engine, "Cases")
    monkeypatch.setattr(query_index, "_MIN_ROWS", 10**9)
    scanned, scanned_visits = run(engine, "Cases")
    assert pruned == scanned
    assert pruned_visits < scanned_visits
    assert pruned[0] == [1, 4, 8]
    assert pruned[4] == [1, 4, 5, 8]
    assert pruned[10] == [1, 2, 7, 10]
    assert pruned[11] == [2, 7]
    assert pruned[16] == [2, 7, 10]  # after 5 January, by the 15th
    assert pruned[20] == [1, 2, 5, 7, 10]  # any day of January
    assert pruned[22:] == [[2, 7], [], [4], []]  # a month equals only the same month


def test_key_lookup_visits_only_matching_rows_and_rows_without_a_key(engine: Engine) -> None:
    value, visits = run(engine, "Lookup B")
    assert value == [2]
    assert visits == 2  # row 2, and row 3 whose key is null (never indexed, always checked)


def test_date_range_visits_only_rows_in_range_and_rows_without_a_day(engine: Engine) -> None:
    value, visits = run(engine, "Window")
    assert value == [2, 7]
    assert visits == 4  # rows 2 and 7, row 3 (null) and row 4 (a month, not a day)


def test_date_key_lookup_visits_only_that_day_and_rows_without_a_day(engine: Engine) -> None:
    value, visits = run(engine, "Day")
    assert value == [2, 7]
    assert visits == 4  # rows 2 and 7, row 3 (null) and row 4 (a month, not a day)


def test_visits_grow_with_matches_not_with_rows_times_rows(engine: Engine) -> None:
    value, visits = run(engine, "Each Row By Key")
    assert value == [3, 1, 0, 3, 1, 1, 1, 3, 1, 1]
    # One lookup per row (key plus the null-key row) instead of 10 x 10 visits; the row
    # with a null key prunes nothing (a null key is not a String), so it scans once.
    matches = sum(v for v in value if v) + 9
    assert visits == matches + 10


def test_key_and_range_together_visit_only_rows_both_allow(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten rows and seven key candidates: below the size at which narrowing pays, so lower it.
    monkeypatch.setattr(query_index, "_MIN_ROWS", 2)
    value, visits = run(engine, "Keys And Range")
    assert value == [2, 7, 10]
    # Rows 2, 7 and 10, plus row 3 (null key and day) and row 4 (a month): the key alone
    # would also visit rows 1 and 8.
    assert visits == 5
    monkeypatch.setattr(query_index, "_MIN_ROWS", 10**9)
    assert run(engine, "Keys And Range")[0] == value
