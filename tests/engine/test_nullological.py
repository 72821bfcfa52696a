"""IsNull and Coalesce (CqlNullologicalOperatorsTest.xml)."""

from __future__ import annotations

from typing import Any

from elm_stubs import BOOM, evaluate

from trd_cds.engine.datatypes.temporal import Time
from trd_cds.engine.ops import nullological  # noqa: F401  (registers the node types)
from trd_cds.engine.runtime.registry import ElmNode

LIST_TYPE = {"type": "ListTypeSpecifier",
             "elementType": {"type": "NamedTypeSpecifier", "name": "{urn:hl7-org:elm-types:r1}Any"}}


def const(value: Any) -> ElmNode:
    node: ElmNode = {"type": "Const", "value": value}
    if isinstance(value, list):
        node["resultTypeSpecifier"] = LIST_TYPE
    return node


def run(kind: str, *operands: Any) -> Any:
    nodes = [o if isinstance(o, dict) else const(o) for o in operands]
    node: ElmNode = {"type": kind, "operand": nodes if kind == "Coalesce" else nodes[0]}
    return evaluate(node)


def test_is_null() -> None:
    assert run("IsNull", None) is True
    assert run("IsNull", "") is False
    assert run("IsNull", 0) is False


def test_coalesce_operands() -> None:
    assert run("Coalesce", "a", None) == "a"
    assert run("Coalesce", None, "a") == "a"
    assert run("Coalesce", None, None) is None
    assert run("Coalesce", None, None, Time(5, 15, 33, 556)) == Time(5, 15, 33, 556)


def test_coalesce_of_several_lists_returns_a_list() -> None:
    assert run("Coalesce", ["a"], None, None) == ["a"]
    assert run("Coalesce", None, None, ["a"]) == ["a"]


def test_coalesce_of_one_list_searches_its_elements() -> None:
    assert run("Coalesce", []) is None
    assert run("Coalesce", ["a", None, None]) == "a"
    assert run("Coalesce", [None, None, "a"]) == "a"
    assert run("Coalesce", None) is None
    # Without a declared type the value decides.
    untyped = {"type": "Const", "value": [None, 2]}
    assert run("Coalesce", untyped) == 2


def test_coalesce_stops_at_the_first_non_null() -> None:
    assert run("Coalesce", None, 1, BOOM) == 1
