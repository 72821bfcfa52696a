"""References: defines, functions, parameters, operands, aliases, lets and identifiers.

Everything is resolved at compile time: a define reference is the define's cached evaluator
itself, a function reference binds the chosen overload's compiled body, and variables are
slots in ``Context.slots``.
"""

from __future__ import annotations

from typing import Any, cast

from ..errors import ElmError
from ..runtime.compiled import CompiledLibrary, FunctionEntry
from ..runtime.compiler import LibraryCompiler, fault
from ..runtime.context import Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, operand_nodes
from .structure import get_property
from .types import matcher, static_type_key, type_key

# The slot name of the element a sort expression is evaluated against.
IMPLICIT_ITEM = "$this"


def _compiler(c: Compiler) -> LibraryCompiler:
    return cast(LibraryCompiler, c)


@node("ExpressionRef")
def compile_expression_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    lc = _compiler(c)
    lib = lc.library.included(elm.get("libraryName"))
    entry = lib.defs.get(elm["name"])
    if entry is None:
        raise lc.error(f"unknown expression {elm['name']} in library {lib.name}", elm)
    return LibraryCompiler(lib).define(entry)


@node("ParameterRef")
def compile_parameter_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    lc = _compiler(c)
    lib = lc.library.included(elm.get("libraryName"))
    entry = lib.parameters.get(elm["name"])
    if entry is None:
        raise lc.error(f"unknown parameter {elm['name']} in library {lib.name}", elm)
    return LibraryCompiler(lib).parameter(entry)


def _slot_reader(slot: int) -> Evaluator:
    return lambda ctx: ctx.slots[slot]


@node("OperandRef", "AliasRef", "QueryLetRef")
def compile_variable_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    return _slot_reader(_compiler(c).lookup(elm["name"], elm))


@node("IdentifierRef")
def compile_identifier_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    lc = _compiler(c)
    name = elm["name"]
    slot = lc.find(name)
    if slot is not None:
        return _slot_reader(slot)
    # In a sort clause an identifier names a property of the element being sorted.
    item = lc.find(IMPLICIT_ITEM)
    if item is None:
        raise lc.error(f"unknown identifier {name}", elm)
    return lambda ctx: get_property(ctx.slots[item], name)


def _choose(elm: ElmNode, candidates: list[FunctionEntry]) -> list[FunctionEntry]:
    if len(candidates) <= 1:
        return candidates
    signature = elm.get("signature") or []
    operands = operand_nodes(elm)
    for keys in (
        [type_key(s) for s in signature] if len(signature) == len(operands) else None,
        [static_type_key(o) for o in operands],
    ):
        if keys is None or any(k is None for k in keys):
            continue
        exact = [f for f in candidates if f.operand_types == keys]
        if len(exact) == 1:
            return exact
    return candidates


@node("FunctionRef")
def compile_function_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    lc = _compiler(c)
    lib = lc.library.included(elm.get("libraryName"))
    name = elm["name"]
    args = [c.compile(o) for o in operand_nodes(elm)]
    overloads = [f for f in lib.functions.get(name, []) if len(f.operand_names) == len(args)]
    if not overloads:
        raise lc.error(f"unknown function {name} with {len(args)} operand(s) in library "
                       f"{lib.name}", elm)
    chosen = _choose(elm, overloads)
    compiler = LibraryCompiler(lib)
    for fn in chosen:
        compiler.function_body(fn)
    if len(chosen) == 1:
        if len(args) == 1 and is_quiet(lib, chosen[0]):
            return _remembered_call(chosen[0], args[0], lib.name)
        return _call(chosen[0], args, lib.name)
    # Overloads the static types do not decide (e.g. a choice-typed argument): pick at run
    # time the first overload whose operand types all match.
    options = [(_invoker(fn, lib.name), [matcher(k, lib.fhir_model) for k in fn.operand_types])
               for fn in chosen]
    locator = elm.get("locator")

    def dispatch(ctx: Context) -> Any:
        values = [a(ctx) for a in args]
        for invoke, tests in options:
            if all(v is None or t(v) for v, t in zip(values, tests, strict=True)):
                return invoke(ctx, values)
        raise ElmError(f"no overload of {name} matches the arguments", locator=locator)
    return dispatch


def _body(fn: FunctionEntry) -> Evaluator:
    if fn.body is not None:
        return fn.body

    def late(ctx: Context) -> Any:
        # Bound late only while the function itself is being compiled (a self reference).
        assert fn.body is not None
        return fn.body(ctx)
    return late


def _invoker(fn: FunctionEntry, library: str) -> Any:
    """(ctx, argument values) -> result of the function.

    Operands live in fixed slots: no activation of a function can start while another one is
    running, because the translator rejects circular references between defines and
    functions, so the slots need no saving.
    """
    slots = fn.slots
    locator = fn.elm.get("locator")
    name = fn.name
    run = _body(fn)

    def invoke(ctx: Context, values: list[Any]) -> Any:
        try:
            s = ctx.slots
            for slot, value in zip(slots, values, strict=True):
                s[slot] = value
            return run(ctx)
        except Exception as e:
            fault(e, locator, library=library, define=name)
    return invoke


def _call(fn: FunctionEntry, args: list[Evaluator], library: str) -> Evaluator:
    if len(args) == 2:
        return _call2(fn, args, library)
    if len(args) != 1:
        invoke = _invoker(fn, library)
        return lambda ctx: invoke(ctx, [a(ctx) for a in args])
    (arg,) = args
    (slot,) = fn.slots
    locator = fn.elm.get("locator")
    name = fn.name
    run = _body(fn)

    # The common case (FHIRHelpers conversions, fluent functions) without list building.
    def call1(ctx: Context) -> Any:
        value = arg(ctx)
        try:
            ctx.slots[slot] = value
            return run(ctx)
        except Exception as e:
            fault(e, locator, library=library, define=name)
    return call1


def _call2(fn: FunctionEntry, args: list[Evaluator], library: str) -> Evaluator:
    """Two operands (name matching, date arithmetic helpers) without building a list."""
    first, second = args
    slot1, slot2 = fn.slots
    locator = fn.elm.get("locator")
    name = fn.name
    run = _body(fn)

    def call2(ctx: Context) -> Any:
        # Both operands are evaluated before either slot is written: the second may read
        # the slot of the first (a nested call of the same function).
        x = first(ctx)
        y = second(ctx)
        try:
            s = ctx.slots
            s[slot1] = x
            s[slot2] = y
            return run(ctx)
        except Exception as e:
            fault(e, locator, library=library, define=name)
    return call2


def _function_refs(tree: Any) -> list[ElmNode]:
    """Every FunctionRef node of an ELM subtree; a Message node is returned as well."""
    found: list[ElmNode] = []
    stack = [tree]
    while stack:
        node_ = stack.pop()
        if isinstance(node_, dict):
            if node_.get("type") in ("FunctionRef", "Message"):
                found.append(node_)
            stack.extend(v for v in node_.values() if isinstance(v, (dict, list)))
        elif isinstance(node_, list):
            stack.extend(node_)
    return found


def is_quiet(lib: CompiledLibrary, fn: FunctionEntry) -> bool:
    """Whether calling ``fn`` only computes a value: no Message in its body or in any
    function it calls. Everything else a body can read - its operands, defines, parameters,
    the data, Now() - is fixed for the whole evaluation, so equal operands give equal
    values and a call may be answered from an earlier one."""
    if fn.quiet is not None:
        return fn.quiet
    fn.quiet = True  # calls cannot be circular; this only ends the walk
    quiet = True
    for ref in _function_refs(fn.elm.get("expression")):
        if ref.get("type") == "Message":
            quiet = False
            break
        try:
            target = lib.included(ref.get("libraryName"))
        except ElmError:
            quiet = False
            break
        if not all(is_quiet(target, f) for f in target.functions.get(ref.get("name", ""), [])):
            quiet = False
            break
    fn.quiet = quiet
    return quiet


def _remembered_call(fn: FunctionEntry, arg: Evaluator, library: str) -> Evaluator:
    """A one-operand call answered once per operand object and evaluation: the same FHIR
    element (read once, see FhirElement) or value converted or inspected again - by
    FHIRHelpers, by several defines over the same records - costs a dictionary lookup.
    The operand is kept with the result, so its id cannot be reused while the entry lives."""
    (slot,) = fn.slots
    locator = fn.elm.get("locator")
    name = fn.name
    run = _body(fn)

    def remembered(ctx: Context) -> Any:
        value = arg(ctx)
        key = (slot, id(value))
        calls = ctx.calls
        hit = calls.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        try:
            ctx.slots[slot] = value
            result = run(ctx)
        except Exception as e:
            fault(e, locator, library=library, define=name)
        calls[key] = (value, result)
        return result
    return remembered
