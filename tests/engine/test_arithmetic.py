"""Arithmetic operators, compiled from ELM nodes as the translator emits them; cases ported
from the HL7 suite (CqlArithmeticFunctionsTest.xml) and the CQL reference."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from elm_stubs import SYSTEM, Stub, const

from trd_cds.engine.datatypes import temporal
from trd_cds.engine.datatypes.temporal import Date, DateTime, Time
from trd_cds.engine.datatypes.values import Quantity, Uncertainty
from trd_cds.engine.errors import CqlEvaluationError
from trd_cds.engine.ops import arithmetic  # noqa: F401  (registers the node types)
from trd_cds.engine.runtime.context import Context
from trd_cds.engine.runtime.registry import ElmNode


def ctx() -> Context:
    return Context(now=DateTime(2024, 3, 1, 0, 0, 0, 0, Decimal(0)))


def run(kind: str, *operands: Any, rt: str | None = None, **fields: Any) -> Any:
    node: ElmNode = {"type": kind, **{k: const(v) for k, v in fields.items()}}
    if operands:
        node["operand"] = const(operands[0]) if len(operands) == 1 else [const(o) for o in operands]
    if rt is not None:
        node["resultTypeName"] = SYSTEM + rt
    return Stub().compile(node)(ctx())


D = Decimal


def same(actual: Any, expected: Any) -> bool:
    """Value and Python type (an Integer result is not a Decimal one)."""
    return type(actual) is type(expected) and actual == expected


class TestIntegers:
    @pytest.mark.parametrize(
        ("kind", "a", "b", "expected"),
        [
            ("Add", 1, 1, 2),
            ("Subtract", 1, 1, 0),
            ("Multiply", 2, 3, 6),
            ("TruncatedDivide", 10, 3, 3),
            ("TruncatedDivide", -10, 3, -3),
            ("TruncatedDivide", 10, -3, -3),
            ("TruncatedDivide", -10, -3, 3),
            ("Modulo", 10, 3, 1),
            ("Modulo", -10, 3, -1),
            ("Modulo", 10, -3, 1),
            ("Power", 2, 4, 16),
            ("Power", -2, 2, 4),
            ("Power", 0, 0, 1),
        ],
    )
    def test_binary(self, kind: str, a: int, b: int, expected: int) -> None:
        assert same(run(kind, a, b, rt="Integer"), expected)

    @pytest.mark.parametrize("kind", ["Add", "Subtract", "Multiply", "TruncatedDivide", "Modulo"])
    def test_null_operand_gives_null(self, kind: str) -> None:
        assert run(kind, 1, None, rt="Integer") is None
        assert run(kind, None, 1, rt="Integer") is None

    def test_division_by_zero_is_null(self) -> None:
        assert run("TruncatedDivide", 2, 0, rt="Integer") is None
        assert run("Modulo", 0, 0, rt="Integer") is None
        assert run("TruncatedDivide", 10, 0, rt="Long") is None

    def test_integer_overflow_is_null_but_long_has_room(self) -> None:
        assert run("Add", 2**31 - 1, 1, rt="Integer") is None
        assert run("Add", 2**31 - 1, 1, rt="Long") == 2**31
        assert run("Multiply", 2**62, 2, rt="Long") is None
        assert run("Subtract", -(2**31), 1, rt="Integer") is None
        assert run("Negate", -(2**31), rt="Integer") is None  # -(minimum Integer)
        assert run("Abs", -(2**63), rt="Long") is None
        assert run("Power", 2, 31, rt="Integer") is None
        assert run("Power", 2, 2**31 - 1, rt="Long") is None  # answered without computing it

    def test_negative_power_of_an_integer_is_a_decimal(self) -> None:
        assert same(run("Power", 2, -2, rt="Integer"), D("0.25"))
        assert run("Power", 0, -1, rt="Integer") is None

    def test_unary(self) -> None:
        assert run("Negate", 1, rt="Integer") == -1
        assert run("Negate", -(2**63 - 1), rt="Long") == 2**63 - 1
        assert run("Abs", -1, rt="Integer") == 1

    def test_uncertainty_arithmetic(self) -> None:
        # months between @2012 and @2013-03 is an Uncertainty; arithmetic keeps the range.
        u = Uncertainty(2, 14)
        assert run("Add", u, 1, rt="Integer") == Uncertainty(3, 15)
        assert run("Subtract", 20, u, rt="Integer") == Uncertainty(6, 18)
        assert run("Multiply", u, -1, rt="Integer") == Uncertainty(-14, -2)

    def test_without_result_type_the_values_decide(self) -> None:
        assert same(run("Add", 1, 2), 3)
        assert same(run("Add", 1, D("2.0")), D("3.0"))
        assert run("Add", Quantity(D(1), "g"), Quantity(D(2), "g")) == Quantity(D(3), "g")
        assert run("Add", Date(2024, 1, 31), Quantity(D(1), "month")) == Date(2024, 2, 29)
        assert run("Add", Uncertainty(1, 2), 1) == Uncertainty(2, 3)


class TestDecimals:
    @pytest.mark.parametrize(
        ("kind", "a", "b", "expected"),
        [
            ("Add", "1.0", "1.0", "2.0"),
            ("Subtract", "1.0", "2.0", "-1.0"),
            ("Subtract", "2", "1.1", "0.9"),
            ("Multiply", "1.0", "2.0", "2.00"),
            ("Divide", "1.0", "1.0", "1"),
            ("Divide", "10", "3", "3.33333333"),
            ("Divide", "2", "3", "0.66666667"),  # 8 places, half away from zero
            ("TruncatedDivide", "10.1", "3.1", "3"),
            ("TruncatedDivide", "-10.1", "3.1", "-3"),
            ("Modulo", "3.5", "3", "0.5"),
            ("Modulo", "-10.0", "3.0", "-1.0"),
            ("Power", "2.0", "-2.0", "0.25"),
            ("Power", "-2.0", "2.0", "4.0"),
            ("Log", "16", "2", "4"),
            ("Log", "0.125", "2", "-3"),
            ("Log", "1", "100", "0"),
        ],
    )
    def test_binary(self, kind: str, a: str, b: str, expected: str) -> None:
        result = run(kind, D(a), D(b), rt="Decimal")
        assert isinstance(result, Decimal) and result == D(expected)

    def test_results_keep_eight_places(self) -> None:
        assert run("Divide", D(1), D(3), rt="Decimal").as_tuple().exponent == -8
        assert str(run("Add", D("1.5"), D("1.25"), rt="Decimal")) == "2.75"

    @pytest.mark.parametrize(
        ("kind", "a", "b"),
        [("Divide", "1", "0"), ("TruncatedDivide", "10.1", "0.0"), ("Modulo", "1", "0"),
         ("Log", "1", "1"), ("Log", "2", "1"), ("Log", "-1", "10"), ("Power", "-8", "0.5")],
    )
    def test_undefined_results_are_null(self, kind: str, a: str, b: str) -> None:
        assert run(kind, D(a), D(b), rt="Decimal") is None

    def test_overflow_is_null(self) -> None:
        big = D("9999999999999999999999999999.99999999")
        assert run("Add", big, D("0.00000001"), rt="Decimal") is None
        assert run("Multiply", big, D(2), rt="Decimal") is None
        assert run("Negate", big, rt="Decimal") == D("-9999999999999999999999999999.99999999")

    def test_exp_and_ln(self) -> None:
        assert run("Exp", D(0)) == 1
        assert run("Round", operand=run("Exp", D(1)), precision=8) == D("2.71828183")
        assert run("Round", operand=run("Exp", D(-1)), precision=8) == D("0.36787944")
        assert run("Ln", D(1)) == 0
        assert run("Round", operand=run("Ln", D(1000)), precision=8) == D("6.90775528")
        assert run("Ln", D(-1)) is None

    def test_exp_and_ln_that_reach_infinity_raise(self) -> None:
        # The suite marks these invalid (positive and negative infinity).
        with pytest.raises(CqlEvaluationError):
            run("Exp", D(1000))
        with pytest.raises(CqlEvaluationError):
            run("Ln", D(0))


class TestRounding:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("0.5", "1"), ("0.4", "0"), ("-0.5", "-1"), ("-0.4", "0"), ("-0.6", "-1"),
         ("-1.1", "-1"), ("-1.5", "-2"), ("-1.6", "-2"), ("1", "1")],
    )
    def test_round_halves_away_from_zero(self, value: str, expected: str) -> None:
        assert run("Round", operand=D(value)) == D(expected)

    def test_round_to_places(self) -> None:
        assert str(run("Round", operand=D("3.14159"), precision=2)) == "3.14"
        assert run("Round", operand=D("3.14159"), precision=None) == 3
        assert run("Round", operand=None) is None
        assert run("Round", operand=Quantity(D("2.54"), "cm")) == Quantity(D(3), "cm")

    @pytest.mark.parametrize(
        ("kind", "value", "expected"),
        [
            ("Ceiling", "1.0", 1), ("Ceiling", "1.1", 2), ("Ceiling", "-0.1", 0),
            ("Ceiling", "-1.1", -1), ("Ceiling", "-2147483648.2", -(2**31)),
            ("Floor", "1.1", 1), ("Floor", "-0.1", -1), ("Floor", "-1.1", -2),
            ("Floor", "2147483647.2", 2**31 - 1),
            ("Truncate", "1.9", 1), ("Truncate", "-1.9", -1), ("Truncate", "0.1", 0),
        ],
    )
    def test_to_integer(self, kind: str, value: str, expected: int) -> None:
        assert same(run(kind, D(value), rt="Integer"), expected)

    @pytest.mark.parametrize(
        ("kind", "value"),
        [("Ceiling", "2147483647.2"), ("Ceiling", "2147483648.2"), ("Floor", "-2147483648.2"),
         ("Floor", "2147483648"), ("Truncate", "-2147483649.2")],
    )
    def test_to_integer_overflow_is_null(self, kind: str, value: str) -> None:
        assert run(kind, D(value), rt="Integer") is None


class TestQuantities:
    def test_same_unit(self) -> None:
        g_cm3 = Quantity(D(1), "g/cm3")
        assert run("Add", g_cm3, g_cm3, rt="Quantity") == Quantity(D(2), "g/cm3")
        assert run("Subtract", Quantity(D(1), "cm"), Quantity(D(2), "cm"), rt="Quantity") == \
            Quantity(D(-1), "cm")

    def test_sum_takes_the_finer_unit(self) -> None:
        assert run("Add", Quantity(D(1), "m"), Quantity(D(5), "cm"), rt="Quantity") == \
            Quantity(D(105), "cm")
        assert run("Add", Quantity(D(5), "cm"), Quantity(D(1), "m"), rt="Quantity") == \
            Quantity(D(105), "cm")

    def test_incompatible_units_give_null(self) -> None:
        assert run("Add", Quantity(D(1), "cm"), Quantity(D(1), "cm2"), rt="Quantity") is None

    def test_products_and_quotients_carry_units(self) -> None:
        cm = Quantity(D(1), "cm")
        assert run("Multiply", cm, Quantity(D(2), "cm"), rt="Quantity") == Quantity(D(2), "cm2")
        g_cm3 = Quantity(D(1), "g/cm3")
        assert run("Divide", g_cm3, g_cm3, rt="Quantity") == Quantity(D(1), "1")
        assert run("Divide", g_cm3, Quantity(D("1.0"), "1"), rt="Quantity") == g_cm3
        assert run("Divide", Quantity(D(10), "g"), Quantity(D(5), "1"), rt="Quantity") == \
            Quantity(D(2), "g")
        assert run("Divide", Quantity(D(1), "m"), Quantity(D(50), "cm"), rt="Quantity") == \
            Quantity(D(2), "1")
        assert run("Divide", g_cm3, Quantity(D(0), "1"), rt="Quantity") is None

    def test_div_and_mod_keep_the_dividend_unit(self) -> None:
        assert run("TruncatedDivide", Quantity(D("10.1"), "cm"), Quantity(D("-3.1"), "cm"),
                   rt="Quantity") == Quantity(D(-3), "cm")
        assert run("TruncatedDivide", Quantity(D("4.14"), "m"), Quantity(D("2.06"), "m"),
                   rt="Quantity") == Quantity(D(2), "m")
        assert run("Modulo", Quantity(D("3.5"), "cm"), Quantity(D(3), "cm"), rt="Quantity") == \
            Quantity(D("0.5"), "cm")
        assert run("Modulo", Quantity(D(10), "g"), Quantity(D(0), "g"), rt="Quantity") is None

    def test_unary(self) -> None:
        assert run("Negate", Quantity(D(1), "cm"), rt="Quantity") == Quantity(D(-1), "cm")
        assert run("Abs", Quantity(D("-1.0"), "cm"), rt="Quantity") == Quantity(D(1), "cm")


class TestTemporalArithmetic:
    def test_date_plus_and_minus_quantity(self) -> None:
        assert run("Add", Date(2024, 1, 31), Quantity(D(1), "month"), rt="Date") == \
            Date(2024, 2, 29)
        assert run("Subtract", Date(2024, 3, 1), Quantity(D(1), "day"), rt="Date") == \
            Date(2024, 2, 29)


class TestSuccessorPredecessor:
    def test_integers(self) -> None:
        assert run("Successor", 0, rt="Integer") == 1
        assert run("Predecessor", 1, rt="Long") == 0
        assert run("Successor", None, rt="Integer") is None
        with pytest.raises(CqlEvaluationError):
            run("Successor", 2**31 - 1, rt="Integer")
        with pytest.raises(CqlEvaluationError):
            run("Predecessor", -(2**63), rt="Long")

    def test_other_types_use_the_value_semantics(self) -> None:
        assert run("Successor", D("1.0"), rt="Decimal") == D("1.00000001")
        assert run("Predecessor", D("1.01"), rt="Decimal") == D("1.00999999")
        assert run("Successor", Time(12, 0, 0, 0), rt="Time") == Time(12, 0, 0, 1)


def value_node(kind: str, type_name: str) -> Callable[[], Any]:
    node = {"type": kind, "valueType": SYSTEM + type_name}
    evaluate = Stub().compile(node)
    return lambda: evaluate(ctx())


class TestMinMax:
    @pytest.mark.parametrize(
        ("type_name", "low", "high"),
        [
            ("Integer", -(2**31), 2**31 - 1),
            ("Long", -(2**63), 2**63 - 1),
            ("Decimal", D("-99999999999999999999.99999999"), D("99999999999999999999.99999999")),
            ("Date", Date(1, 1, 1), Date(9999, 12, 31)),
            ("Time", Time(0, 0, 0, 0), Time(23, 59, 59, 999)),
        ],
    )
    def test_limits(self, type_name: str, low: Any, high: Any) -> None:
        assert value_node("MinValue", type_name)() == low
        assert value_node("MaxValue", type_name)() == high

    def test_datetime_limits_are_utc(self) -> None:
        high = value_node("MaxValue", "DateTime")()
        assert high.iso() == DateTime(9999, 12, 31, 23, 59, 59, 999, D(0)).iso()

    def test_other_types_raise_when_evaluated(self) -> None:
        evaluate = value_node("MinValue", "Boolean")  # compiling is fine
        with pytest.raises(CqlEvaluationError):
            evaluate()


class TestPrecisionAndBoundaries:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (D("1.58700"), 5),
            (Date(2014), 4),
            (DateTime(2014, 1, 5, 10, 30, 0, 0), 17),
            (DateTime(2014, 1, 5, 10), 10),
            (Time(10, 30), 4),
            (Time(10, 30, 0, 0), 9),
        ],
    )
    def test_precision(self, value: Any, expected: int) -> None:
        assert run("Precision", value) == expected

    def test_decimal_boundaries(self) -> None:
        assert str(run("HighBoundary", D("1.587"), 8)) == "1.58799999"
        assert str(run("LowBoundary", D("1.587"), 8)) == "1.58700000"
        assert str(run("HighBoundary", D("1.58888"), None)) == "1.58888999"
        assert str(run("LowBoundary", D("1.58888"), None)) == "1.58888000"
        assert str(run("HighBoundary", D("-1.587"), 8)) == "-1.58700000"
        assert str(run("LowBoundary", D("-1.587"), 8)) == "-1.58799999"
        assert run("HighBoundary", D("1.587"), 9) is None
        assert run("HighBoundary", None, 8) is None

    def test_temporal_boundaries(self) -> None:
        assert run("HighBoundary", Date(2014), 6) == Date(2014, 12)
        assert run("LowBoundary", Date(2014), 6) == Date(2014, 1)
        assert run("HighBoundary", Date(2024, 2), 8) == Date(2024, 2, 29)
        high = run("HighBoundary", DateTime(2014, 1, 1, 8), 17)
        assert temporal.DateTime.iso(high) == DateTime(2014, 1, 1, 8, 59, 59, 999).iso()
        low = run("LowBoundary", DateTime(2014, 1, 1, 8), 17)
        assert low.iso() == DateTime(2014, 1, 1, 8, 0, 0, 0).iso()
        assert run("HighBoundary", Time(10, 30), 9) == Time(10, 30, 59, 999)
        assert run("LowBoundary", Time(10, 30), 9) == Time(10, 30, 0, 0)
        assert run("HighBoundary", Time(10, 30), 10) is None


class TestRanges:
    def test_decimal_results_may_use_28_integer_digits(self) -> None:
        # ValueLiteralsAndSelectors: 10 * 10^27 - 10^-8 is the largest valid Decimal ...
        big = run("Multiply", D(10), D("1000000000000000000000000000.00000000"), rt="Decimal")
        assert big is None  # 10^28 itself is past the limit
        top = run("Subtract", D("9999999999999999999999999999.99999998"), D("-0.00000001"),
                  rt="Decimal")
        assert top == D("9999999999999999999999999999.99999999")
        # ... while `maximum Decimal` stays the spec's 20-digit value.
        assert value_node("MaxValue", "Decimal")() == D("99999999999999999999.99999999")

    def test_negating_an_out_of_range_literal_is_an_error(self) -> None:
        assert run("Negate", 2**31, rt="Integer") == -(2**31)  # minimum Integer as written
        with pytest.raises(CqlEvaluationError):
            run("Negate", 2**31 + 1, rt="Integer")  # -2147483649
        with pytest.raises(CqlEvaluationError):
            run("Negate", D("10000000000000000000000000000.00000000"), rt="Decimal")
        assert run("Negate", -(2**31), rt="Integer") is None  # -(minimum Integer) is null
