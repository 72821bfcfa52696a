"""If and Case (CqlConditionalOperatorsTest.xml): null conditions take the else branch and
only the chosen branch is evaluated."""

from __future__ import annotations

from typing import Any

from elm_stubs import BOOM, evaluate
from elm_stubs import const as c

from trd_cds.engine.ops import conditional  # noqa: F401  (registers the node types)
from trd_cds.engine.runtime.registry import ElmNode


def run(node: ElmNode) -> Any:
    return evaluate(node)


def test_if() -> None:
    assert run({"type": "If", "condition": c(True), "then": c(5), "else": BOOM}) == 5
    assert run({"type": "If", "condition": c(False), "then": BOOM, "else": c(5)}) == 5
    assert run({"type": "If", "condition": c(None), "then": BOOM, "else": c(10)}) == 10


def case(items: list[tuple[ElmNode, ElmNode]], otherwise: ElmNode,
         comparand: ElmNode | None = None) -> ElmNode:
    node: ElmNode = {"type": "Case", "caseItem": [{"when": w, "then": t} for w, t in items],
                     "else": otherwise}
    if comparand is not None:
        node["comparand"] = comparand
    return node


def test_standard_case() -> None:
    assert run(case([(c(True), c(5)), (c(False), BOOM)], BOOM)) == 5
    assert run(case([(c(False), BOOM), (c(None), BOOM)], c(15))) == 15
    assert run(case([(c(False), BOOM), (c(True), c(10))], BOOM)) == 10


def test_selected_case_uses_equality() -> None:
    assert run(case([(c(5), c(12)), (c(10), BOOM)], BOOM, comparand=c(5))) == 12
    assert run(case([(c(5), BOOM), (c(10), c(15))], BOOM, comparand=c(10))) == 15
    assert run(case([(c(5), BOOM), (c(10), BOOM)], c(5), comparand=c(15))) == 5
    # null never equals anything, not even null
    assert run(case([(c(None), BOOM)], c("else"), comparand=c(None))) == "else"
