"""Terminology: code system, value set, code and concept references, and membership tests.

Value sets are answered by the evaluation's terminology provider (``Context.terminology``);
code systems are checked by their URL (and version when the declaration gives one).
"""

from __future__ import annotations

from typing import Any, cast

from ..datatypes.values import Code, Concept
from ..errors import CqlEvaluationError, ElmError
from ..runtime.compiled import CompiledLibrary
from ..runtime.compiler import LibraryCompiler
from ..runtime.context import Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node
from ..terminology import CodeSystem, TerminologyProvider, ValueSet


def _lib(elm: ElmNode, c: Compiler) -> CompiledLibrary:
    return cast(LibraryCompiler, c).library.included(elm.get("libraryName"))


def codesystem_value(lib: CompiledLibrary, name: str) -> CodeSystem:
    d = lib.codesystems.get(name)
    if d is None:
        raise ElmError(f"unknown code system {name} in library {lib.name}")
    return CodeSystem(d["id"], d.get("version"), name)


def valueset_value(lib: CompiledLibrary, name: str) -> ValueSet:
    d = lib.valuesets.get(name)
    if d is None:
        raise ElmError(f"unknown value set {name} in library {lib.name}")
    return ValueSet(d["id"], d.get("version"), name)


def code_value(lib: CompiledLibrary, name: str) -> Code:
    d = lib.codes.get(name)
    if d is None:
        raise ElmError(f"unknown code {name} in library {lib.name}")
    ref = d.get("codeSystem") or {}
    system = codesystem_value(lib.included(ref.get("libraryName")), ref["name"]) \
        if ref.get("name") else None
    return Code(d["id"], system.id if system else None, system.version if system else None,
                d.get("display"))


def concept_value(lib: CompiledLibrary, name: str) -> Concept:
    d = lib.concepts.get(name)
    if d is None:
        raise ElmError(f"unknown concept {name} in library {lib.name}")
    codes = tuple(code_value(lib.included(r.get("libraryName")), r["name"])
                  for r in d.get("code", []))
    return Concept(codes, d.get("display"))


def terminology(ctx: Context) -> TerminologyProvider:
    t = ctx.terminology
    if t is None:
        raise CqlEvaluationError("the evaluation has no terminology provider for value sets")
    return t


@node("CodeSystemRef")
def compile_codesystem_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    value = codesystem_value(_lib(elm, c), elm["name"])
    return lambda ctx: value


@node("CodeRef")
def compile_code_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    value = code_value(_lib(elm, c), elm["name"])
    return lambda ctx: value


@node("ConceptRef")
def compile_concept_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    value = concept_value(_lib(elm, c), elm["name"])
    return lambda ctx: value


@node("ValueSetRef")
def compile_valueset_ref(elm: ElmNode, c: Compiler) -> Evaluator:
    value = valueset_value(_lib(elm, c), elm["name"])
    if elm.get("preserve", False):
        return lambda ctx: value
    # ELM before 1.5 (no `preserve`): a value set reference is its expansion.
    return lambda ctx: terminology(ctx).expand(value.id, value.version)


def _valueset_operand(elm: ElmNode, c: Compiler) -> Evaluator:
    ref = elm.get("valueset")
    if isinstance(ref, dict) and "name" in ref and "type" not in ref:
        value = valueset_value(_lib(ref, c), ref["name"])
        return lambda ctx: value
    if isinstance(ref, dict):
        return c.compile({**ref, "preserve": True} if ref.get("type") == "ValueSetRef" else ref)
    expr = elm.get("valuesetExpression")
    if expr is None:
        raise ElmError(f"{elm.get('type')} without a value set", locator=elm.get("locator"))
    return c.compile(expr)


def _codesystem_operand(elm: ElmNode, c: Compiler) -> Evaluator:
    ref = elm.get("codesystem")
    if isinstance(ref, dict) and "name" in ref and "type" not in ref:
        value = codesystem_value(_lib(ref, c), ref["name"])
        return lambda ctx: value
    if isinstance(ref, dict):
        return c.compile(ref)
    expr = elm.get("codesystemExpression")
    if expr is None:
        raise ElmError(f"{elm.get('type')} without a code system", locator=elm.get("locator"))
    return c.compile(expr)


def _in_valueset(ctx: Context, codes: Any, vs: Any) -> bool:
    if isinstance(vs, ValueSet):
        return terminology(ctx).in_valueset(codes, vs.id, vs.version)
    if isinstance(vs, list):  # an already expanded value set
        wanted = {(c.system, c.code) for c in vs if isinstance(c, Code)}
        return any((c.system, c.code) in wanted for c in _codes(codes))
    raise CqlEvaluationError(f"not a value set: {vs!r}")


def _codes(value: Any) -> list[Code]:
    if isinstance(value, Code):
        return [value]
    if isinstance(value, Concept):
        return list(value.codes)
    if isinstance(value, str):
        return [Code(value)]
    if isinstance(value, list):
        return [c for v in value if v is not None for c in _codes(v)]
    return []


@node("InValueSet")
def compile_in_valueset(elm: ElmNode, c: Compiler) -> Evaluator:
    code = c.compile(elm["code"])
    vs = _valueset_operand(elm, c)

    def in_valueset(ctx: Context) -> Any:
        value = code(ctx)
        # The spec: a null code is not in any value set (false, not null).
        return False if value is None else _in_valueset(ctx, value, vs(ctx))
    return in_valueset


@node("AnyInValueSet")
def compile_any_in_valueset(elm: ElmNode, c: Compiler) -> Evaluator:
    codes = c.compile(elm["codes"])
    vs = _valueset_operand(elm, c)

    def any_in_valueset(ctx: Context) -> Any:
        value = codes(ctx)
        if not value:
            return False
        return _in_valueset(ctx, [v for v in value if v is not None], vs(ctx))
    return any_in_valueset


def _in_codesystem(codes: list[Code], cs: Any) -> bool:
    if not isinstance(cs, CodeSystem):
        raise CqlEvaluationError(f"not a code system: {cs!r}")
    return any(code.system == cs.id and (cs.version is None or code.version is None
                                         or code.version == cs.version) for code in codes)


@node("InCodeSystem")
def compile_in_codesystem(elm: ElmNode, c: Compiler) -> Evaluator:
    code = c.compile(elm["code"])
    cs = _codesystem_operand(elm, c)

    def in_codesystem(ctx: Context) -> Any:
        value = code(ctx)
        return False if value is None else _in_codesystem(_codes(value), cs(ctx))
    return in_codesystem


@node("AnyInCodeSystem")
def compile_any_in_codesystem(elm: ElmNode, c: Compiler) -> Evaluator:
    codes = c.compile(elm["codes"])
    cs = _codesystem_operand(elm, c)

    def any_in_codesystem(ctx: Context) -> Any:
        value = codes(ctx)
        return False if not value else _in_codesystem(_codes(value), cs(ctx))
    return any_in_codesystem


@node("ExpandValueSet")
def compile_expand_valueset(elm: ElmNode, c: Compiler) -> Evaluator:
    operand = elm["operand"]
    if operand.get("type") == "ValueSetRef":
        operand = {**operand, "preserve": True}
    vs = c.compile(operand)

    def expand(ctx: Context) -> Any:
        value = vs(ctx)
        if value is None:
            return None
        if not isinstance(value, ValueSet):
            raise CqlEvaluationError(f"not a value set: {value!r}")
        return terminology(ctx).expand(value.id, value.version)
    return expand


def _code_selector(elm: ElmNode, c: Compiler) -> Code:
    ref = elm.get("system") or {}
    system = codesystem_value(_lib(ref, c), ref["name"]) if ref.get("name") else None
    return Code(elm["code"], system.id if system else None, system.version if system else None,
                elm.get("display"))


@node("Code")
def compile_code(elm: ElmNode, c: Compiler) -> Evaluator:
    """``Code '123' from "SYS" display 'x'``: a constant."""
    value = _code_selector(elm, c)
    return lambda ctx: value


@node("Concept")
def compile_concept(elm: ElmNode, c: Compiler) -> Evaluator:
    """``Concept { Code … } display 'x'``: a constant (its codes are Code selectors)."""
    value = Concept(tuple(_code_selector(code, c) for code in elm.get("code") or []),
                    elm.get("display"))
    return lambda ctx: value
