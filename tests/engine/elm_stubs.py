"""A stand-in for the compiler in operator unit tests, so each test compiles just the node
under test: ``{"type": "Const"}`` leaves stand for operands already evaluated, Integer
``Literal`` leaves for the literals some operators read at compile time, and ``BOOM`` for an
operand that must never be evaluated (short-circuit and lazy branches)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.runtime.context import Context
from trd_cds.engine.runtime.registry import NODES, ElmNode, Evaluator

SYSTEM = "{urn:hl7-org:elm-types:r1}"
NEW_YEAR_2024 = DateTime(2024, 1, 1, 0, 0, 0, 0, Decimal(0))
BOOM: ElmNode = {"type": "Boom"}


def _boom(ctx: Context) -> Any:
    raise AssertionError("evaluated an operand that should have been skipped")


class Stub:
    library_name = "Test"

    def compile(self, node: ElmNode) -> Evaluator:
        kind = node["type"]
        if kind == "Const":
            value = node["value"]
            return lambda ctx: value
        if kind == "Literal":
            number = int(node["value"])
            return lambda ctx: number
        if kind == "Boom":
            return _boom
        return NODES[kind](node, self)

    def compile_optional(self, node: ElmNode | None) -> Evaluator:
        return (lambda ctx: None) if node is None else self.compile(node)


def const(value: Any) -> ElmNode:
    return {"type": "Const", "value": value}


def evaluate(node: ElmNode, now: DateTime = NEW_YEAR_2024) -> Any:
    """Compiles ``node`` with the stub and evaluates it once, at ``now``."""
    return Stub().compile(node)(Context(now=now))
