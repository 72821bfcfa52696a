"""Aggregate functions, ported from the HL7 suite (CqlAggregateFunctionsTest.xml) and the
examples of the CQL reference."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trd_cds.engine.datatypes import values
from trd_cds.engine.datatypes.temporal import DateTime, Time
from trd_cds.engine.datatypes.values import Quantity
from trd_cds.engine.ops.aggregate import aggregate_function


def agg(name: str, lst: Any, result_type: str | None = None) -> Any:
    return aggregate_function(name, result_type)(lst)


def decs(*texts: str) -> list[Decimal]:
    return [Decimal(t) for t in texts]


def mg(*texts: str) -> list[Quantity]:
    return [Quantity(Decimal(t), "mg") for t in texts]


class TestBooleans:
    @pytest.mark.parametrize(
        ("lst", "expected"),
        [
            ([True, True], True),
            ([True, False], False),
            ([False, True], False),
            ([True, False, True], False),
            ([None, True, True], True),
            ([None, None, None], True),
            ([], True),
            (None, True),
        ],
    )
    def test_all_true(self, lst: list[bool | None] | None, expected: bool) -> None:
        assert agg("AllTrue", lst) is expected

    @pytest.mark.parametrize(
        ("lst", "expected"),
        [
            ([True, True], True),
            ([False, False], False),
            ([False, True, False], True),
            ([None, True], True),
            ([None, False], False),
            ([], False),
            (None, False),
        ],
    )
    def test_any_true(self, lst: list[bool | None] | None, expected: bool) -> None:
        assert agg("AnyTrue", lst) is expected


class TestCount:
    def test_counts_non_null_elements(self) -> None:
        assert agg("Count", [15, 5, 99, None, 1]) == 4
        assert agg("Count", [DateTime(2014), DateTime(2001), DateTime(2010)]) == 3

    def test_empty_and_null_are_zero(self) -> None:
        assert agg("Count", []) == 0
        assert agg("Count", [None, None]) == 0
        assert agg("Count", None) == 0


class TestSumAndProduct:
    def test_integers_stay_integers(self) -> None:
        result = agg("Sum", [None, 1, None], "Integer")
        assert result == 1 and type(result) is int

    def test_decimals(self) -> None:
        assert agg("Sum", decs("6.0", "2.0", "3.0", "4.0", "5.0")) == Decimal("20.0")

    def test_long(self) -> None:
        assert agg("Sum", [6, 2, 3, 4, 5], "Long") == 20
        assert agg("Product", [5, 4, 5], "Long") == 100

    def test_integer_overflow_is_null(self) -> None:
        assert agg("Sum", [2**31 - 1, 1], "Integer") is None
        assert agg("Sum", [2**31 - 1, 1], "Long") == 2**31
        assert agg("Product", [2**20, 2**20], "Integer") is None
        assert agg("Product", [2**20, 2**20, 0], "Integer") == 0

    def test_quantities_in_one_unit(self) -> None:
        result = agg("Sum", [Quantity(Decimal(n), "ml") for n in (1, 2, 3, 4, 5)])
        assert result == Quantity(Decimal(15), "ml")

    def test_quantities_are_converted_to_the_first_unit(self) -> None:
        assert agg("Sum", [Quantity(Decimal(1), "g"), Quantity(Decimal(500), "mg")]) == Quantity(
            Decimal("1.5"), "g"
        )

    def test_incompatible_units_are_null(self) -> None:
        assert agg("Sum", [Quantity(Decimal(1), "g"), Quantity(Decimal(1), "m")]) is None

    def test_empty_or_all_null_is_null(self) -> None:
        for name in ("Sum", "Product", "Min", "Max", "Avg", "Median", "Mode", "Variance",
                     "PopulationVariance", "StdDev", "PopulationStdDev", "GeometricMean"):
            assert agg(name, []) is None, name
            assert agg(name, None) is None, name
            assert agg(name, [None, None, None]) is None, name

    def test_decimal_product(self) -> None:
        assert agg("Product", decs("1.0", "2.0", "3.0", "4.0")) == Decimal(24)

    def test_quantity_product_multiplies_units(self) -> None:
        result = agg("Product", mg("2", "3"))
        assert result.value == 6 and result.unit == "mg2"


class TestMinMax:
    def test_numbers(self) -> None:
        assert agg("Max", [5, 12, 1, 15, 0, 4, 90, 44]) == 90
        assert agg("Min", [5, 12, 1, 15, 0, 4, 90, 44]) == 0
        assert agg("Max", decs("2.5", "2.50001", "1")) == Decimal("2.50001")

    def test_strings(self) -> None:
        assert agg("Max", ["hi", "bye", "zebra"]) == "zebra"
        assert agg("Min", ["hi", "bye", "zebra"]) == "bye"

    def test_datetimes(self) -> None:
        days = [DateTime(2012, 10, 5), DateTime(2012, 9, 5), DateTime(2012, 10, 6)]
        assert values.equivalent(agg("Max", days), DateTime(2012, 10, 6))
        assert values.equivalent(agg("Min", days), DateTime(2012, 9, 5))

    def test_times(self) -> None:
        times = [Time(15, 59, 59, 999), Time(5, 59, 59, 999), Time(20, 59, 59, 999)]
        assert values.equivalent(agg("Max", times), Time(20, 59, 59, 999))
        assert values.equivalent(agg("Min", times), Time(5, 59, 59, 999))

    def test_quantities_compare_across_units(self) -> None:
        doses = [Quantity(Decimal(1), "g"), Quantity(Decimal(900), "mg")]
        assert agg("Max", doses) == Quantity(Decimal(1), "g")
        assert agg("Min", doses) == Quantity(Decimal(900), "mg")


class TestStatistics:
    def test_avg(self) -> None:
        assert agg("Avg", decs("1.0", "2.0", "3.0", "6.0")) == Decimal(3)
        assert agg("Avg", decs("5.5", "4.7", "4.8")) == Decimal(5)
        assert agg("Avg", mg("5.5", "4.7", "4.8")) == Quantity(Decimal(5), "mg")

    def test_avg_rounds_to_eight_places(self) -> None:
        assert agg("Avg", decs("1", "1", "2")) == Decimal("1.33333333")
        # 0.000000025: half rounds up, not to even.
        assert agg("Avg", decs("0.00000005", "0")) == Decimal("0.00000003")

    def test_median(self) -> None:
        assert agg("Median", decs("6.0", "5.0", "4.0", "3.0", "2.0", "1.0")) == Decimal("3.5")
        assert agg("Median", decs("2.0", "4.0", "8.0", "6.0")) == Decimal(5)
        assert agg("Median", mg("1.0", "2.0", "3.0")) == Quantity(Decimal(2), "mg")

    def test_mode(self) -> None:
        assert agg("Mode", [2, 1, 8, 2, 9, 1, 9, 9]) == 9
        assert agg("Mode", decs("2.0", "2.0", "8.0", "6.0", "8.0", "8.0")) == Decimal(8)
        assert agg("Mode", mg("1.0", "2.0", "3.0", "2.0")) == Quantity(Decimal(2), "mg")

    def test_mode_of_temporal_values(self) -> None:
        days = [DateTime(2012, 10, 5), DateTime(2012, 9, 5), DateTime(2012, 10, 6),
                DateTime(2012, 9, 5)]
        assert values.equivalent(agg("Mode", days), DateTime(2012, 9, 5))
        times = [Time(15, 59, 59, 999), Time(5, 59, 59, 999), Time(20, 59, 59, 999),
                 Time(5, 59, 59, 999)]
        assert values.equivalent(agg("Mode", times), Time(5, 59, 59, 999))

    def test_variance_and_standard_deviation(self) -> None:
        one_to_five = decs("1.0", "2.0", "3.0", "4.0", "5.0")
        assert agg("Variance", one_to_five) == Decimal("2.5")
        assert agg("PopulationVariance", one_to_five) == Decimal(2)
        assert agg("StdDev", one_to_five) == Decimal("1.58113883")
        assert agg("PopulationStdDev", one_to_five) == Decimal("1.41421356")

    def test_statistics_of_quantities_keep_the_unit(self) -> None:
        doses = mg("1.0", "2.0", "3.0", "4.0", "5.0")
        assert agg("Variance", doses) == Quantity(Decimal("2.5"), "mg")
        assert agg("StdDev", doses) == Quantity(Decimal("1.58113883"), "mg")
        assert agg("PopulationStdDev", doses) == Quantity(Decimal("1.41421356"), "mg")

    def test_sample_variance_of_one_value_is_null(self) -> None:
        assert agg("Variance", decs("3.0")) is None
        assert agg("PopulationVariance", decs("3.0")) == 0

    def test_geometric_mean(self) -> None:
        assert agg("GeometricMean", decs("2.0", "8.0")) == Decimal(4)
        assert agg("GeometricMean", decs("1.0", "0.0")) == 0
        assert agg("GeometricMean", decs("-2.0", "8.0")) is None
