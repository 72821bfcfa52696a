"""CQL conditional expressions: ``if … then … else`` and ``case`` (CQL 1.5 §3, 'Conditional
Expressions'). Only the chosen branch is evaluated."""

from __future__ import annotations

from typing import Any

from ..datatypes import values as v
from ..runtime.context import Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node


@node("If")
def _if(elm: ElmNode, compiler: Compiler) -> Evaluator:
    condition = compiler.compile(elm["condition"])
    then = compiler.compile(elm["then"])
    otherwise = compiler.compile_optional(elm.get("else"))

    def evaluate(ctx: Context) -> Any:
        # A null condition takes the else branch.
        return then(ctx) if condition(ctx) is True else otherwise(ctx)

    return evaluate


@node("Case")
def _case(elm: ElmNode, compiler: Compiler) -> Evaluator:
    items = [
        (compiler.compile(item["when"]), compiler.compile(item["then"]))
        for item in elm.get("caseItem") or ()
    ]
    otherwise = compiler.compile_optional(elm.get("else"))
    comparand_node = elm.get("comparand")

    if comparand_node is None:

        def standard(ctx: Context) -> Any:
            for when, then in items:
                if when(ctx) is True:
                    return then(ctx)
            return otherwise(ctx)

        return standard

    comparand = compiler.compile(comparand_node)

    def selected(ctx: Context) -> Any:
        # The comparand is evaluated once and matched with equality (null never matches).
        value = comparand(ctx)
        for when, then in items:
            if v.equal(value, when(ctx)) is True:
                return then(ctx)
        return otherwise(ctx)

    return selected
