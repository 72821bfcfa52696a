"""CQL logical operators (CQL 1.5 Appendix B, 'Logical Operators'): three-valued logic.

``and``, ``or`` and ``implies`` do not evaluate their right operand once the left one has
decided the result (false and …, true or …, false implies …).
"""

from __future__ import annotations

from typing import Any

from ..runtime.context import Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, operand_nodes, operator


@node("And")
def _and(elm: ElmNode, compiler: Compiler) -> Evaluator:
    args = [compiler.compile(o) for o in operand_nodes(elm)]
    if len(args) == 2:
        a, b = args

        def and2(ctx: Context) -> bool | None:
            x = a(ctx)
            if x is False:
                return False
            y = b(ctx)
            if y is False:
                return False
            return None if x is None or y is None else True

        return and2

    def and_n(ctx: Context) -> bool | None:
        result: bool | None = True
        for arg in args:
            x = arg(ctx)
            if x is False:
                return False
            if x is None:
                result = None
        return result

    return and_n


@node("Or")
def _or(elm: ElmNode, compiler: Compiler) -> Evaluator:
    args = [compiler.compile(o) for o in operand_nodes(elm)]
    if len(args) == 2:
        a, b = args

        def or2(ctx: Context) -> bool | None:
            x = a(ctx)
            if x is True:
                return True
            y = b(ctx)
            if y is True:
                return True
            return None if x is None or y is None else False

        return or2

    def or_n(ctx: Context) -> bool | None:
        result: bool | None = False
        for arg in args:
            x = arg(ctx)
            if x is True:
                return True
            if x is None:
                result = None
        return result

    return or_n


@node("Implies")
def _implies(elm: ElmNode, compiler: Compiler) -> Evaluator:
    a, b = (compiler.compile(o) for o in operand_nodes(elm))

    def implies(ctx: Context) -> bool | None:
        x = a(ctx)
        if x is False:
            return True
        y = b(ctx)
        if y is True:
            return True
        return None if x is None or y is None else False

    return implies


@operator("Xor")
def _xor(a: bool, b: bool) -> bool:
    return a is not b


@operator("Not")
def _not(a: bool) -> bool:
    return not a


@operator("IsTrue", propagate_null=False)
def _is_true(a: Any) -> bool:
    return a is True


@operator("IsFalse", propagate_null=False)
def _is_false(a: Any) -> bool:
    return a is False
