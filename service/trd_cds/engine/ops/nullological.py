"""CQL nullological operators (CQL 1.5 Appendix B, 'Nullological Operators').

``IsTrue``/``IsFalse`` live with the logical operators.
"""

from __future__ import annotations

from typing import Any

from ..runtime.context import Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, operand_nodes, operator
from .operand_types import node_type


@operator("IsNull", propagate_null=False)
def _is_null(a: Any) -> bool:
    return a is None


def first_not_null(items: list[Any] | None) -> Any:
    """The list form of Coalesce: the first non-null element, null when there is none."""
    if items is None:
        return None
    for item in items:
        if item is not None:
            return item
    return None


@node("Coalesce")
def _coalesce(elm: ElmNode, compiler: Compiler) -> Evaluator:
    operands = operand_nodes(elm)
    args = [compiler.compile(o) for o in operands]
    if len(args) == 1:
        # Coalesce(list): the single operand is a list whose elements are searched. When the
        # ELM leaves the type open, decide on the value.
        (arg,) = args
        if node_type(operands[0]) == "List":
            return lambda ctx: first_not_null(arg(ctx))

        def single(ctx: Context) -> Any:
            x = arg(ctx)
            return first_not_null(x) if isinstance(x, list) else x

        return single

    def coalesce(ctx: Context) -> Any:
        # Operands after the first non-null one are not evaluated.
        for arg in args:
            x = arg(ctx)
            if x is not None:
                return x
        return None

    return coalesce
