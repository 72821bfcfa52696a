"""Type operators (Is, As, ToList) and run-time type tests of CQL values.

A type specifier from the ELM is turned once into a *type key* (hashable, for overload
matching) and into a *matcher* (a predicate on values, for ``is``/``as`` and for choosing a
function overload at run time when the arguments' static types do not decide).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ..datatypes.temporal import Date, DateTime, Time
from ..datatypes.values import Code, Concept, Interval, Quantity, Ratio
from ..errors import CqlEvaluationError, ElmError
from ..fhir.model import FHIR_URI, SYSTEM_URI, FhirModel, split_type_name
from ..fhir.provider import FhirElement, FhirPrimitive
from ..runtime.registry import Compiler, ElmNode, Evaluator, node
from ..terminology import CodeSystem, ValueSet

Matcher = Callable[[Any], bool]


def type_key(spec: Any) -> Any:
    """A hashable description of a type specifier (node or QName string)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        uri, local = split_type_name(spec)
        return (uri, local)
    kind = spec.get("type")
    if kind == "NamedTypeSpecifier" or (kind is None and "name" in spec):
        return type_key(spec["name"])
    if kind == "ListTypeSpecifier":
        return ("List", type_key(spec.get("elementType")))
    if kind == "IntervalTypeSpecifier":
        return ("Interval", type_key(spec.get("pointType")))
    if kind == "TupleTypeSpecifier":
        return (
            "Tuple",
            tuple(
                (e["name"], type_key(e.get("elementType") or e.get("type")))
                for e in spec.get("element", [])
            ),
        )
    if kind == "ChoiceTypeSpecifier":
        return ("Choice", frozenset(type_key(c) for c in spec.get("choice", spec.get("type", []))))
    raise ElmError(f"unknown type specifier {kind!r}", locator=spec.get("locator"))


def operand_type_key(operand: ElmNode) -> Any:
    return type_key(operand.get("operandTypeSpecifier") or operand.get("operandType"))


def static_type_key(expr: ElmNode) -> Any:
    """The result type key the translator recorded on an expression, if any."""
    spec = expr.get("resultTypeSpecifier")
    if isinstance(spec, dict):
        return type_key(spec)
    name = expr.get("resultTypeName")
    return type_key(name) if isinstance(name, str) else None


def _is_int(v: Any) -> bool:
    return type(v) is int


_SYSTEM: dict[str, Matcher] = {
    "Any": lambda v: v is not None,
    "Boolean": lambda v: type(v) is bool,
    "Integer": _is_int,
    "Long": _is_int,
    "Decimal": lambda v: type(v) is Decimal,
    "String": lambda v: type(v) is str,
    "Date": lambda v: type(v) is Date,
    "DateTime": lambda v: type(v) is DateTime,
    "Time": lambda v: type(v) is Time,
    "Quantity": lambda v: type(v) is Quantity,
    "Ratio": lambda v: type(v) is Ratio,
    "Code": lambda v: type(v) is Code,
    "Concept": lambda v: type(v) is Concept,
    "ValueSet": lambda v: type(v) is ValueSet,
    "CodeSystem": lambda v: type(v) is CodeSystem,
    "Vocabulary": lambda v: type(v) in (ValueSet, CodeSystem),
}


def fhir_type_of(value: Any) -> str | None:
    """The FHIR type name of a FHIR value, None for System values."""
    cls = type(value)
    if cls is FhirElement or cls is FhirPrimitive:
        return str(value.fhir_type)
    if cls is dict:
        rt = value.get("resourceType")
        return rt if isinstance(rt, str) else None
    return None


def matcher(key: Any, model: FhirModel | None) -> Matcher:
    """A predicate telling whether a (non-null) value is of the type ``key``; FHIR types are
    looked up in ``model``, the FHIR model of the library naming the type."""
    if key is None:
        return lambda v: v is not None
    head = key[0]
    if head == SYSTEM_URI:
        found = _SYSTEM.get(key[1])
        if found is None:
            raise ElmError(f"unknown System type {key[1]}")
        return found
    if head == FHIR_URI:
        name = key[1]
        if model is None:
            raise ElmError(f"FHIR type {name} in a library without using FHIR")
        if not model.has_type(name):
            raise ElmError(f"unknown FHIR type {name}")

        def fhir(v: Any) -> bool:
            t = fhir_type_of(v)
            return t is not None and model.is_subtype(t, name)

        return fhir
    if head == "List":
        inner = matcher(key[1], model)
        return lambda v: type(v) is list and all(x is None or inner(x) for x in v)
    if head == "Interval":
        point = matcher(key[1], model)
        return lambda v: (
            type(v) is Interval
            and (v.low is None or point(v.low))
            and (v.high is None or point(v.high))
        )
    if head == "Tuple":
        elements = [(name, matcher(k, model)) for name, k in key[1]]

        def tuple_(v: Any) -> bool:
            if not isinstance(v, Mapping) or isinstance(v, FhirElement):
                return False
            if any(name not in elements_names for name in v):
                return False
            return all(v.get(name) is None or m(v.get(name)) for name, m in elements)

        elements_names = {name for name, _ in elements}
        return tuple_
    if head == "Choice":
        options = [matcher(k, model) for k in key[1]]
        return lambda v: any(m(v) for m in options)
    raise ElmError(f"unsupported type {key!r}")


def _type_operand(elm: ElmNode, attr: str) -> Any:
    spec = elm.get(attr + "TypeSpecifier") or elm.get(attr + "Type")
    if spec is None:
        raise ElmError(f"{elm.get('type')} without {attr}Type", locator=elm.get("locator"))
    return type_key(spec)


@node("Is")
def compile_is(elm: ElmNode, c: Compiler) -> Evaluator:
    operand = c.compile(elm["operand"])
    test = matcher(_type_operand(elm, "is"), c.fhir_model)

    def is_(ctx: Any) -> Any:
        v = operand(ctx)
        return v is not None and test(v)

    return is_


@node("As")
def compile_as(elm: ElmNode, c: Compiler) -> Evaluator:
    operand = c.compile(elm["operand"])
    key = _type_operand(elm, "as")
    test = matcher(key, c.fhir_model)
    strict = bool(elm.get("strict", False))
    locator = elm.get("locator")

    def as_(ctx: Any) -> Any:
        v = operand(ctx)
        if v is None or test(v):
            return v
        if strict:
            raise CqlEvaluationError(f"cannot cast {_describe(v)} to {_name(key)}", locator=locator)
        return None

    return as_


def _name(key: Any) -> str:
    if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], str):
        return ("FHIR." if key[0] == FHIR_URI else "System.") + key[1]
    return repr(key)


def _describe(v: Any) -> str:
    t = fhir_type_of(v)
    return f"FHIR.{t}" if t else type(v).__name__


@node("ToList")
def compile_to_list(elm: ElmNode, c: Compiler) -> Evaluator:
    operand = c.compile(elm["operand"])

    def to_list(ctx: Any) -> Any:
        v = operand(ctx)
        return [] if v is None else [v]

    return to_list


