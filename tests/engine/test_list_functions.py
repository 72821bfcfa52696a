"""List membership and set operators, ported from the HL7 suite (CqlListOperatorsTest.xml)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trd_cds.engine.datatypes.temporal import Date, DateTime, Time
from trd_cds.engine.datatypes.values import CqlTuple, Quantity
from trd_cds.engine.ops.list import (
    list_contains,
    list_distinct,
    list_except,
    list_in,
    list_included_in,
    list_includes,
    list_intersect,
    list_proper_contains,
    list_proper_in,
    list_proper_included_in,
    list_proper_includes,
    list_union,
    sort_values,
)


def dt(*parts: int) -> DateTime:
    return DateTime(*parts)


def t(h: int, m: int | None = None, s: int | None = None, ms: int | None = None) -> Time:
    return Time(h, m, s, ms)


def same(actual: Any, expected: Any) -> bool:
    """Element-wise CQL equivalence of two result lists (or scalars)."""
    from trd_cds.engine.datatypes import values

    return values.equivalent(actual, expected)


class TestContainsAndIn:
    @pytest.mark.parametrize(
        ("lst", "x", "expected"),
        [
            (["a", "b", None], None, True),  # ContainsABNullHasNull
            ([None, "b", "c"], "a", False),  # ContainsNullFirst
            (["a", "b", "c"], "a", True),
            (None, "a", False),  # ContainsNullLeft
            ([], None, False),  # InNullEmpty
            ([1, None], None, True),  # InNullAnd1Null
            ([1, 2], 1, True),
            ([1, 2], 3, False),
            ([Decimal("1.0"), Decimal("2")], Decimal("1.00"), True),
            (["a", 1], "1", False),
        ],
    )
    def test_scalars(self, lst: list[Any] | None, x: Any, expected: bool) -> None:
        assert list_contains(lst, x) is expected
        assert list_in(x, lst) is expected

    def test_datetimes(self) -> None:
        days = [dt(2012, 10, 5), dt(2012, 9, 5), dt(2012, 1, 1)]
        assert list_contains(days, dt(2012, 1, 1)) is True
        assert list_contains(days[:2], dt(2012, 1, 1)) is False
        assert list_in(dt(2012, 5, 10), [dt(2001, 9, 11), dt(2012, 5, 10)]) is True

    def test_times(self) -> None:
        times = [t(15, 59, 59, 999), t(5, 59, 59, 999), t(20, 59, 59, 999)]
        assert list_contains(times, t(5, 59, 59, 999)) is True
        assert list_contains(times, t(8, 59, 59, 999)) is False

    def test_uncertain_equality_is_not_a_match(self) -> None:
        # @2012 = @2012-01-01 is unknown: membership answers false, never null.
        assert list_contains([dt(2012, 1, 1)], dt(2012)) is False

    def test_null_list_with_null_element(self) -> None:
        assert list_in(1, None) is False  # In1Null


class TestProperContainsAndIn:
    @pytest.mark.parametrize(
        ("lst", "x", "expected"),
        [
            (None, "a", False),  # ProperContains1
            ([], "a", False),
            (["a"], "a", False),
            ([None], None, False),
            (["s", "u", "n"], None, False),
            ([None, None], None, False),
            (["s", "u", "n", None], None, True),
            (["a", "b"], "a", True),
            (["a", "a"], "a", False),
            (["a", "b"], "c", False),
            (["a", None], "a", None),  # ProperContains9: the other element might be 'a'
            (["a", "b", None], "a", True),
        ],
    )
    def test_scalars(self, lst: list[Any] | None, x: Any, expected: bool | None) -> None:
        assert list_proper_contains(lst, x) is expected
        assert list_proper_in(x, lst) is expected

    def test_times_at_mixed_precision(self) -> None:
        found = [t(15, 59, 59), t(20, 59, 59, 999), t(20, 59, 49, 999)]
        assert list_proper_contains(found, t(15, 59, 59)) is True
        unknown = [t(15, 59, 59, 999), t(20, 59, 59, 999), t(20, 59, 49, 999)]
        assert list_proper_contains(unknown, t(15, 59, 59)) is None
        assert list_proper_in(t(15, 59, 59), unknown) is None


class TestIncludes:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ([], [], True),
            ([None], [None], True),
            ([1, 2, 3], [], True),
            ([1, 2, 3], [2], True),
            ([1, 2, 3], [4], False),
            (None, [2], None),  # IncludesNullLeft
            (["s", "a", "m"], None, None),  # IncludesNullRight
        ],
    )
    def test_includes(self, a: list[Any] | None, b: list[Any] | None, expected: bool | None) -> None:
        assert list_includes(a, b) is expected
        assert list_included_in(b, a) is expected

    def test_datetimes(self) -> None:
        days = [dt(2001, 9, 11), dt(2012, 5, 10), dt(2014, 12, 10)]
        assert list_includes(days, [dt(2012, 5, 10)]) is True
        assert list_includes(days, [dt(2012, 5, 11)]) is False
        assert list_included_in([dt(2012, 5, 10)], days) is True

    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ([], [], False),
            ([None], [None], False),
            ([1, 2, 3], [], True),
            ([1, 2, 3], [2], True),
            ([1, 2, 3], [4], False),
            ([1, 2, 3], [1, 2, 3], False),
            (None, [2], None),  # ProperlyIncludesNullLeft
            ([1, 2], None, None),
        ],
    )
    def test_properly_includes(
        self, a: list[Any] | None, b: list[Any] | None, expected: bool | None
    ) -> None:
        assert list_proper_includes(a, b) is expected
        assert list_proper_included_in(b, a) is expected

    def test_properly_included_in_times(self) -> None:
        big = [t(15, 59, 59, 999), t(20, 59, 59, 999), t(20, 59, 49, 999)]
        assert list_proper_included_in(big[:2], big) is True
        assert list_proper_included_in([*big[:2], t(14, 59, 22, 999)], big) is False


class TestSetOperators:
    def test_union(self) -> None:
        assert list_union([], []) == []
        assert list_union([None], [None]) == [None]
        assert list_union([1, 2, 3], []) == [1, 2, 3]
        assert list_union([1, 2, 3], [2]) == [1, 2, 3]
        assert list_union([1, 2, 3], [4]) == [1, 2, 3, 4]
        assert list_union(None, [4, 5]) == [4, 5]
        assert list_union([1, 1], None) == [1]

    def test_union_times_keeps_order(self) -> None:
        left = [t(15, 59, 59, 999), t(20, 59, 59, 999), t(12, 59, 59, 999)]
        result = list_union(left, [t(10, 59, 59, 999)])
        assert same(result, [*left, t(10, 59, 59, 999)])

    def test_intersect(self) -> None:
        assert list_intersect([], []) == []
        assert list_intersect([1, 2, 3, 4], [2, 3]) == [2, 3]
        assert list_intersect([2, 3], [1, 2, 3, 4]) == [2, 3]
        assert list_intersect([None, 1, 3, 5], [None, 3, 5, 7]) == [None, 3, 5]
        assert list_intersect([1, 3, 5], None) is None
        assert list_intersect(None, [1]) is None

    def test_intersect_datetimes(self) -> None:
        a = [dt(2001, 9, 11), dt(2012, 5, 10), dt(2014, 12, 10)]
        b = [dt(2012, 5, 10), dt(2014, 12, 10), dt(2000, 5, 5)]
        assert same(list_intersect(a, b), [dt(2012, 5, 10), dt(2014, 12, 10)])

    def test_except(self) -> None:
        assert list_except([], []) == []
        assert list_except([1, 2, 3, 4], [2, 3]) == [1, 4]
        assert list_except([2, 3], [1, 2, 3, 4]) == []
        assert list_except([1, 4], None) == [1, 4]  # ExceptNullRight
        assert list_except([1, 3, 5, 7, None], [1, 3, None]) == [5, 7]
        assert list_except(None, [1]) is None

    def test_except_times(self) -> None:
        a = [t(15, 59, 59, 999), t(20, 59, 59, 999), t(12, 59, 59, 999)]
        assert same(list_except(a, a[1:]), [a[0]])

    def test_distinct(self) -> None:
        assert list_distinct([]) == []
        assert list_distinct([None, None, None]) == [None]
        assert list_distinct(["a", None, "a", None]) == ["a", None]
        assert list_distinct([1, 1, 2, 2, 3, 3]) == [1, 2, 3]
        assert list_distinct([1, 2, 3, 1, 2, 3]) == [1, 2, 3]
        assert list_distinct(["a", "b", "c", "a", "b", "c"]) == ["a", "b", "c"]

    def test_distinct_mixed_types_are_not_collapsed(self) -> None:
        # true and 1 are different CQL values even though Python says True == 1.
        assert list_distinct([True, 1, True]) == [True, 1]

    def test_distinct_decimals_ignore_trailing_zeros(self) -> None:
        assert list_distinct([Decimal("1.0"), Decimal("1.00"), Decimal("2")]) == [
            Decimal("1.0"),
            Decimal("2"),
        ]

    def test_distinct_structured_values(self) -> None:
        days = [dt(2012, 10, 5), dt(2012, 1, 1), dt(2012, 1, 1)]
        assert same(list_distinct(days), days[:2])
        tuples = [CqlTuple(a=1), CqlTuple(a=1), CqlTuple(a=2)]
        assert same(list_distinct(tuples), [CqlTuple(a=1), CqlTuple(a=2)])
        doses = [Quantity(Decimal(1), "mg"), Quantity(Decimal("1.0"), "mg")]
        assert same(list_distinct(doses), doses[:1])


class TestSortValues:
    def test_integers_nulls_first(self) -> None:
        assert sort_values([4, None, 5, 1, 6, 2, 1]) == [None, 1, 1, 2, 4, 5, 6]
        assert sort_values([4, None, 5, 1], descending=True) == [5, 4, 1, None]

    def test_strings_by_code_point(self) -> None:
        words = ["back", "aardvark", "alligator", "zebra", "iguana", "Wolf", "Armadillo"]
        assert sort_values(words) == [
            "Armadillo", "Wolf", "aardvark", "alligator", "back", "iguana", "zebra",
        ]

    def test_datetimes_of_mixed_precision(self) -> None:
        values_ = [dt(2012, 10, 5, 10), dt(2012, 1, 1), dt(2012, 1, 1, 12), dt(2012, 10, 5)]
        expected = [dt(2012, 1, 1), dt(2012, 1, 1, 12), dt(2012, 10, 5), dt(2012, 10, 5, 10)]
        assert same(sort_values(values_), expected)
        assert same(sort_values(values_, descending=True), expected[::-1])


class TestMembershipStrategies:
    """Membership uses hashing or buckets where it can; results must match a plain scan."""

    def test_fhir_resources_by_structure(self) -> None:
        a = {"resourceType": "Observation", "id": "1", "status": "final"}
        a_copy = {"resourceType": "Observation", "id": "1", "status": "final"}
        a_amended = {"resourceType": "Observation", "id": "1", "status": "amended"}
        b = {"resourceType": "Observation", "id": "2", "status": "final"}
        assert list_distinct([a, a_copy, a_amended, b, None, None]) == [a, a_amended, b, None]
        assert list_except([a, b], [a_copy]) == [b]
        assert list_intersect([a, b], [a_amended, b]) == [b]
        assert list_includes([a, b], [a_copy]) is True
        assert list_union([a], [a_copy, a_amended]) == [a, a_amended]

    def test_fhir_elements_without_ids(self) -> None:
        codings = [{"system": "s", "code": "1"}, {"system": "s", "code": "1"},
                   {"system": "s", "code": "2", "id": {"odd": "id"}}]
        assert list_distinct(codings) == [codings[0], codings[2]]

    def test_datetimes_in_different_offsets_are_compared_as_instants(self) -> None:
        eastern = DateTime(2012, 1, 1, 10, 0, 0, 0, Decimal(-5))
        utc = DateTime(2012, 1, 1, 15, 0, 0, 0, Decimal(0))
        assert len(list_distinct([eastern, utc])) == 1
        assert list_except([eastern], [utc]) == []
        # Across midnight: same instant, different calendar days.
        late = DateTime(2012, 1, 1, 23, 0, 0, 0, Decimal(-5))
        next_day = DateTime(2012, 1, 2, 4, 0, 0, 0, Decimal(0))
        assert list_intersect([late], [next_day]) == [late]

    def test_datetimes_of_one_offset(self) -> None:
        days = [dt(2012, 1, 1, 10), dt(2012, 1, 1, 10), dt(2012, 1, 1, 11), dt(2012, 1, 1)]
        assert same(list_distinct(days), [days[0], days[2], days[3]])
        assert list_contains(days, dt(2012, 1, 1, 11)) is True

    def test_dates_and_times(self) -> None:
        dates = [Date(2012, 1, 1), Date(2012, 1, 1), Date(2012, 1), Date(2012)]
        assert same(list_distinct(dates), dates[1:])
        times = [t(10, 0), t(10, 0), t(10), t(11, 0)]
        assert same(list_distinct(times), [times[0], times[2], times[3]])
        assert list_except(times, [t(10, 0)]) is not None
        assert same(list_except(times, [t(10, 0)]), [t(10), t(11, 0)])

    def test_integers_and_decimals_are_compared_by_value(self) -> None:
        # A List<Any> mixing them is not hashed: CQL says 1 = 1.0.
        assert list_distinct([1, Decimal("1.0"), 2]) == [1, 2]

    def test_resources_from_the_fhir_provider(self) -> None:
        from trd_cds.engine.fhir.provider import FhirElement

        doc = {"resourceType": "Condition", "id": "c1", "code": {"text": "MDD"}}
        first, again = FhirElement("Condition", doc), FhirElement("Condition", dict(doc))
        other = FhirElement("Condition", {**doc, "id": "c2"})
        assert list_union([first, other], [again]) == [first, other]
        assert list_except([first, other], [doc]) == [other]

    def test_codes(self) -> None:
        from trd_cds.engine.datatypes.values import Code

        sertraline = Code("36437", "http://www.nlm.nih.gov/research/umls/rxnorm")
        same_code = Code("36437", "http://www.nlm.nih.gov/research/umls/rxnorm")
        displayed = Code("36437", "http://www.nlm.nih.gov/research/umls/rxnorm",
                         display="sertraline")
        assert list_distinct([sertraline, same_code, displayed]) == [sertraline, displayed]
        assert list_except([sertraline, displayed], [same_code]) == [displayed]
