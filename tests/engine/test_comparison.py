"""Comparison operators (CqlComparisonOperatorsTest.xml): the fast paths for simple types and
the value semantics for quantities, temporal values and uncertainties."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from elm_stubs import SYSTEM, const, evaluate

from trd_cds.engine.datatypes.temporal import DateTime, Time
from trd_cds.engine.datatypes.values import Quantity, Uncertainty
from trd_cds.engine.ops import comparison  # noqa: F401  (registers the node types)
from trd_cds.engine.runtime.registry import ElmNode

D = Decimal


def run(kind: str, a: Any, b: Any, sig: str | None = None) -> Any:
    node: ElmNode = {"type": kind, "operand": [const(a), const(b)]}
    if sig is not None:
        named = {"type": "NamedTypeSpecifier", "name": SYSTEM + sig}
        node["signature"] = [named, named]
    return evaluate(node)


SIGNATURES = ["Integer", None]  # the fast path and the general one must agree


@pytest.mark.parametrize("sig", SIGNATURES)
def test_ordering_of_integers(sig: str | None) -> None:
    assert run("Less", 0, 1, sig) is True
    assert run("Less", 0, 0, sig) is False
    assert run("LessOrEqual", 0, 0, sig) is True
    assert run("Greater", 0, -1, sig) is True
    assert run("GreaterOrEqual", 0, 1, sig) is False
    assert run("Greater", None, 1, sig) is None
    assert run("Less", 1, None, sig) is None


@pytest.mark.parametrize("sig", ["String", None])
def test_strings_compare_by_code_point(sig: str | None) -> None:
    assert run("Greater", "aa", "a", sig) is True
    assert run("Less", "Jack", "Jill", sig) is True
    assert run("Greater", "a", "B", sig) is True


@pytest.mark.parametrize("sig", ["Decimal", None])
def test_decimals(sig: str | None) -> None:
    assert run("Equal", D("1.0"), D("1.00"), sig) is True
    assert run("Equal", D("1.50"), D("1.55"), sig) is False
    assert run("Less", D("1.0"), D("2"), sig) is True


@pytest.mark.parametrize("sig", ["Integer", "Boolean", None])
def test_equal_and_not_equal(sig: str | None) -> None:
    a, b = (True, False) if sig == "Boolean" else (1, 2)
    assert run("Equal", a, a, sig) is True
    assert run("Equal", a, b, sig) is False
    assert run("Equal", a, None, sig) is None
    assert run("Equal", None, None, sig) is None
    assert run("NotEqual", a, b, sig) is True
    assert run("NotEqual", a, a, sig) is False
    assert run("NotEqual", None, a, sig) is None


@pytest.mark.parametrize("sig", ["Integer", None])
def test_equivalent_is_never_null(sig: str | None) -> None:
    assert run("Equivalent", 1, 1, sig) is True
    assert run("Equivalent", 1, 2, sig) is False
    assert run("Equivalent", None, None, sig) is True
    assert run("Equivalent", 1, None, sig) is False
    assert run("Equivalent", None, 1, sig) is False


def test_string_equivalence_ignores_case() -> None:
    assert run("Equivalent", "Abel", "abel", "String") is True
    assert run("Equal", "Abel", "abel", "String") is False


def test_quantities_compare_across_units() -> None:
    assert run("Greater", Quantity(D(1), "m"), Quantity(D(10), "cm"), "Quantity") is True
    assert run("Equal", Quantity(D(1), "cm"), Quantity(D("0.01"), "m"), "Quantity") is True
    assert run("Less", Quantity(D(1), "cm"), Quantity(D(1), "cm2"), "Quantity") is None


def test_temporal_values_at_different_precisions() -> None:
    assert run("Greater", DateTime(2014), DateTime(2014, 2, 15), "DateTime") is None
    assert run("Greater", DateTime(2015), DateTime(2014, 2, 15), "DateTime") is True
    assert run("LessOrEqual", DateTime(2013), DateTime(2014, 2, 15), "DateTime") is True
    assert run("Equal", Time(10, 0, 0, 0), Time(22, 0, 0, 0), "Time") is False


def test_integer_typed_uncertainties_do_not_take_the_fast_path() -> None:
    u = Uncertainty(2, 14)  # e.g. months between @2012 and @2013-03
    assert run("Less", u, 20, "Integer") is True
    assert run("Less", u, 10, "Integer") is None
    assert run("Greater", u, 1, "Integer") is True
    assert run("Equal", u, 5, "Integer") is None
