"""Three-valued logic (CqlLogicalOperatorsTest.xml, IsTrue/IsFalse from
CqlNullologicalOperatorsTest.xml), including short-circuit evaluation."""

from __future__ import annotations

from typing import Any

import pytest
from elm_stubs import BOOM, const, evaluate

from trd_cds.engine.ops import logical  # noqa: F401  (registers the node types)
from trd_cds.engine.runtime.registry import ElmNode

T, F, N = True, False, None


def run(kind: str, *operands: Any) -> Any:
    nodes = [o if isinstance(o, dict) else const(o) for o in operands]
    node: ElmNode = {"type": kind, "operand": nodes[0] if len(nodes) == 1 else nodes}
    return evaluate(node)


@pytest.mark.parametrize(
    ("kind", "table"),
    [
        ("And", {(T, T): T, (T, F): F, (T, N): N, (F, T): F, (F, F): F, (F, N): F,
                 (N, T): N, (N, F): F, (N, N): N}),
        ("Or", {(T, T): T, (T, F): T, (T, N): T, (F, T): T, (F, F): F, (F, N): N,
                (N, T): T, (N, F): N, (N, N): N}),
        ("Xor", {(T, T): F, (T, F): T, (T, N): N, (F, T): T, (F, F): F, (F, N): N,
                 (N, T): N, (N, F): N, (N, N): N}),
        ("Implies", {(T, T): T, (T, F): F, (T, N): N, (F, T): T, (F, F): T, (F, N): T,
                     (N, T): T, (N, F): N, (N, N): N}),
    ],
)
def test_truth_tables(kind: str, table: dict[tuple[bool | None, bool | None], bool | None]) -> None:
    for (a, b), expected in table.items():
        assert run(kind, a, b) is expected, (kind, a, b)


def test_not() -> None:
    assert run("Not", True) is False
    assert run("Not", False) is True
    assert run("Not", None) is None


def test_short_circuit_skips_the_right_operand() -> None:
    assert run("And", False, BOOM) is False
    assert run("Or", True, BOOM) is True
    assert run("Implies", False, BOOM) is True


def test_n_ary_and_or() -> None:
    assert run("And", True, None, False) is False
    assert run("And", True, None, True) is None
    assert run("Or", False, None, True) is True
    assert run("Or", False, None, False) is None


@pytest.mark.parametrize(("value", "is_true", "is_false"),
                         [(True, True, False), (False, False, True), (None, False, False)])
def test_is_true_is_false(value: bool | None, is_true: bool, is_false: bool) -> None:
    assert run("IsTrue", value) is is_true
    assert run("IsFalse", value) is is_false
