"""From ELM node type to the function that compiles it.

Each operator family lives in ``ops/<family>.py`` and registers its node types here. The
compiler turns every ELM expression tree into nested Python closures once, at load time:
evaluation never dispatches on the node type.

* :func:`node` registers a compile function ``(elm_node, compiler) -> Evaluator``.
* :func:`operator` registers a plain function of the evaluated operands; by default the
  result is null when any operand is null (most CQL operators propagate null).
* :func:`operator_factory` is :func:`operator` for functions that depend on the node (its
  result type or signature): the factory gets the node and returns the operand function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ElmError
from ..fhir.model import FhirModel

if TYPE_CHECKING:
    from .context import Context

Evaluator = Callable[["Context"], Any]
ElmNode = dict[str, Any]


class Compiler(Protocol):
    """What a compile function may ask of the compiler."""

    library_name: str
    # The FHIR model of the library being compiled (None: the library uses only System).
    fhir_model: FhirModel | None

    def compile(self, node: ElmNode) -> Evaluator:
        """Compile a child expression."""
        ...

    def compile_optional(self, node: ElmNode | None) -> Evaluator:
        """Compile a child that may be absent; an absent child evaluates to null."""
        ...


CompileFn = Callable[[ElmNode, Compiler], Evaluator]

NODES: dict[str, CompileFn] = {}


def node(*names: str) -> Callable[[CompileFn], CompileFn]:
    def register(fn: CompileFn) -> CompileFn:
        for name in names:
            if name in NODES:
                raise RuntimeError(f"ELM node type {name} registered twice")
            NODES[name] = fn
        return fn

    return register


def operand_nodes(elm: ElmNode) -> list[ElmNode]:
    """The ``operand`` of a unary (object) or binary/n-ary (list) ELM expression."""
    operand = elm.get("operand")
    if operand is None:
        return []
    if isinstance(operand, list):
        return operand
    if isinstance(operand, dict):
        return [operand]
    raise ElmError(f"{elm.get('type')}: operand is neither an expression nor a list",
                   locator=elm.get("locator"))


def _from_function(fn: Callable[..., Any], elm: ElmNode, compiler: Compiler,
                   propagate_null: bool) -> Evaluator:
    args = [compiler.compile(o) for o in operand_nodes(elm)]
    if len(args) == 1:
        (a,) = args
        if propagate_null:
            def unary(ctx: Context) -> Any:
                x = a(ctx)
                return None if x is None else fn(x)
            return unary
        return lambda ctx: fn(a(ctx))
    if len(args) == 2:
        a, b = args
        if propagate_null:
            def binary(ctx: Context) -> Any:
                x = a(ctx)
                if x is None:
                    return None
                y = b(ctx)
                return None if y is None else fn(x, y)
            return binary
        return lambda ctx: fn(a(ctx), b(ctx))
    if propagate_null:
        def nary(ctx: Context) -> Any:
            values = [arg(ctx) for arg in args]
            return None if any(v is None for v in values) else fn(*values)
        return nary
    return lambda ctx: fn(*[arg(ctx) for arg in args])


def operator(*names: str, propagate_null: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        def compile_fn(elm: ElmNode, compiler: Compiler) -> Evaluator:
            return _from_function(fn, elm, compiler, propagate_null)

        node(*names)(compile_fn)
        return fn

    return register


def operator_factory(
    *names: str, propagate_null: bool = True
) -> Callable[[Callable[[ElmNode], Callable[..., Any]]], Callable[[ElmNode], Callable[..., Any]]]:
    def register(factory: Callable[[ElmNode], Callable[..., Any]]) -> Callable[[ElmNode], Callable[..., Any]]:
        def compile_fn(elm: ElmNode, compiler: Compiler) -> Evaluator:
            return _from_function(factory(elm), elm, compiler, propagate_null)

        node(*names)(compile_fn)
        return factory

    return register


def result_type(elm: ElmNode) -> str | None:
    """The node's ``resultTypeName`` without the ELM types namespace (e.g. 'Integer')."""
    name = elm.get("resultTypeName")
    if not isinstance(name, str):
        return None
    return name.rsplit("}", 1)[-1]
