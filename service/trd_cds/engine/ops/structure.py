"""Literals, selectors (List, Tuple, Instance) and property access (Property).

Property access works on FHIR values (:class:`FhirElement`/:class:`FhirPrimitive`, which know
their model type), on tuples and plain dicts, on System structured values (Quantity, Code,
Interval, …) and element-wise on lists (CQL path traversal over list-valued elements).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..datatypes.values import Code, Concept, CqlTuple, Interval, Quantity, Ratio
from ..errors import ElmError
from ..fhir.model import FHIR_URI, fhir_model, split_type_name
from ..fhir.provider import FhirElement, FhirPrimitive
from ..runtime.compiler import fault
from ..runtime.registry import Compiler, ElmNode, Evaluator, node
from ..terminology import CodeSystem, ValueSet

# -- literals ------------------------------------------------------------------------------


def _parse_literal(value_type: str, text: Any) -> Any:
    local = value_type.rsplit("}", 1)[-1]
    if text is None:
        return None
    if local == "Boolean":
        return str(text).lower() == "true"
    if local in ("Integer", "Long"):
        return int(str(text).removesuffix("L"))
    if local == "Decimal":
        return Decimal(str(text))
    if local == "String":
        return str(text)
    raise ElmError(f"unsupported literal type {value_type}")


_INTEGER_MAX = {"Integer": 2**31 - 1, "Long": 2**63 - 1}
_DECIMAL_MAX = Decimal("9999999999999999999999999999.99999999")


def _decimal_places(value: Decimal) -> int:
    """Significant digits after the point (trailing zeros do not count); exact, unlike
    arithmetic under the default 28-digit context."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return 0
    kept = list(digits)
    while exponent < 0 and kept and kept[-1] == 0:
        kept.pop()
        exponent += 1
    return max(0, -exponent) if kept else 0


def _check_range(local: str, value: Any, negated: bool) -> None:
    """Literals outside their type's range (CQL spec, 'Types'): the translator leaves the
    check to the engine. -2147483648 arrives as Negate(2147483648), so the maximum plus one
    is valid under a Negate."""
    limit = _INTEGER_MAX.get(local)
    if limit is not None:
        if value > limit and not (negated and value == limit + 1):
            raise ElmError(f"the {local} literal {value} is outside the range of {local}")
    elif local == "Decimal":
        if value.copy_abs() > _DECIMAL_MAX:
            raise ElmError(f"the Decimal literal {value} is outside the range of Decimal")
        if _decimal_places(value) > 8:
            raise ElmError(f"the Decimal literal {value} has more than 8 decimal places")


@node("Literal")
def compile_literal(elm: ElmNode, c: Compiler) -> Evaluator:
    from ..runtime.compiler import LibraryCompiler

    try:
        value = _parse_literal(elm["valueType"], elm.get("value"))
    except (ValueError, InvalidOperation) as e:
        raise ElmError(f"bad {elm['valueType']} literal {elm.get('value')!r}") from e
    if value is not None and type(value) is not bool and type(value) is not str:
        negated = isinstance(c, LibraryCompiler) and c.parent_type() == "Negate"
        _check_range(elm["valueType"].rsplit("}", 1)[-1], value, negated)
    return lambda ctx: value


def _quantity(elm: ElmNode) -> Quantity:
    unit = elm.get("unit")
    return Quantity(Decimal(str(elm["value"])), "1" if unit in (None, "") else unit)


@node("Quantity")
def compile_quantity(elm: ElmNode, c: Compiler) -> Evaluator:
    value = _quantity(elm)
    return lambda ctx: value


@node("Ratio")
def compile_ratio(elm: ElmNode, c: Compiler) -> Evaluator:
    value = Ratio(_quantity(elm["numerator"]), _quantity(elm["denominator"]))
    return lambda ctx: value


@node("Null")
def compile_null(elm: ElmNode, c: Compiler) -> Evaluator:
    return lambda ctx: None


# -- selectors -----------------------------------------------------------------------------


@node("List")
def compile_list(elm: ElmNode, c: Compiler) -> Evaluator:
    items = [c.compile(e) for e in elm.get("element") or []]
    if not items:
        return lambda ctx: []
    return lambda ctx: [item(ctx) for item in items]


@node("Tuple")
def compile_tuple(elm: ElmNode, c: Compiler) -> Evaluator:
    elements = [(e["name"], c.compile(e["value"])) for e in elm.get("element") or []]
    return lambda ctx: CqlTuple({name: value(ctx) for name, value in elements})


def _system_instance(local: str, values: dict[str, Any]) -> Any:
    # Values come from CQL expressions the translator type-checked against the class.
    if local == "Code":
        return Code(values.get("code"), values.get("system"), values.get("version"),
                    values.get("display"))
    if local == "Concept":
        return Concept(tuple(c for c in values.get("codes") or () if c is not None),
                       values.get("display"))
    if local == "Quantity":
        unit = values.get("unit")
        return Quantity(values.get("value"), "1" if unit is None else unit)
    if local == "Ratio":
        return Ratio(values["numerator"], values["denominator"]) if values else None
    if local == "ValueSet":
        return ValueSet(values.get("id", ""), values.get("version"), values.get("name"))
    if local == "CodeSystem":
        return CodeSystem(values.get("id", ""), values.get("version"), values.get("name"))
    if local == "Tuple":
        return CqlTuple(values)
    raise ElmError(f"cannot build an instance of System.{local}")


@node("Instance")
def compile_instance(elm: ElmNode, c: Compiler) -> Evaluator:
    uri, local = split_type_name(elm["classType"])
    elements = [(e["name"], c.compile(e["value"])) for e in elm.get("element") or []]
    if uri == FHIR_URI:
        model = c.fhir_model
        if model is None:
            raise ElmError(f"FHIR type {local} in a library without using FHIR")
        if not model.has_type(local):
            raise ElmError(f"unknown FHIR type {local}")
        if model.primitive_type(local) is not None:
            def primitive(ctx: Any) -> Any:
                values = {name: value(ctx) for name, value in elements}
                return FhirPrimitive(local, values.get("value"), values.get("id"),
                                     values.get("extension"))
            return primitive

        def element(ctx: Any) -> Any:
            # Absent elements stay absent, as in FHIR JSON.
            values = ((name, value(ctx)) for name, value in elements)
            return FhirElement(local, {name: v for name, v in values if v is not None})
        return element
    if uri and uri != "urn:hl7-org:elm-types:r1":
        raise ElmError(f"unsupported model {uri} for Instance")
    _system_instance(local, {})  # fail at compile time for unknown System classes

    def system(ctx: Any) -> Any:
        return _system_instance(local, {name: value(ctx) for name, value in elements})
    return system


# -- property access -----------------------------------------------------------------------

_ATTRIBUTES: dict[type, dict[str, str]] = {
    Interval: {"low": "low", "high": "high", "lowClosed": "low_closed",
               "highClosed": "high_closed"},
    Quantity: {"value": "value", "unit": "unit"},
    Ratio: {"numerator": "numerator", "denominator": "denominator"},
    Code: {"code": "code", "system": "system", "version": "version", "display": "display"},
    Concept: {"codes": "codes", "display": "display"},
    ValueSet: {"id": "id", "version": "version", "name": "name"},
    CodeSystem: {"id": "id", "version": "version", "name": "name"},
}


def get_property(obj: Any, name: str) -> Any:
    """The value of property ``name`` of a CQL or FHIR value (null-safe)."""
    cls = type(obj)
    # Most frequent first: FHIR elements, tuples, FHIR primitives.
    if cls is FhirElement or cls is FhirPrimitive:
        return obj.cql_property(name)
    if cls is CqlTuple:
        # The slot behind CqlTuple's Mapping interface: Mapping.get costs three calls.
        return obj._elements.get(name)
    if obj is None:
        return None
    if cls is list:
        # Path traversal over a list: the non-null properties of its elements, flattened.
        out: list[Any] = []
        for item in obj:
            v = get_property(item, name)
            if v is None:
                continue
            if type(v) is list:
                out.extend(v)
            else:
                out.append(v)
        return out
    if cls is dict:
        rt = obj.get("resourceType")
        if isinstance(rt, str):  # a raw FHIR resource handed in by a caller
            return FhirElement(rt, obj).cql_property(name)
        return obj.get(name)
    attrs = _ATTRIBUTES.get(cls)
    if attrs is not None:
        attr = attrs.get(name)
        value = getattr(obj, attr) if attr else None
        return list(value) if type(value) is tuple else value
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def property_getter(path: str) -> Callable[[Any], Any]:
    """A function reading a (possibly dotted) property path."""
    parts = path.split(".")
    if len(parts) == 1:
        return lambda obj: get_property(obj, path)

    def dotted(obj: Any) -> Any:
        for part in parts:
            if obj is None:
                return None
            obj = get_property(obj, part)
        return obj
    return dotted


@node("Property")
def compile_property(elm: ElmNode, c: Compiler) -> Evaluator:
    from ..runtime.compiler import LibraryCompiler

    path = elm["path"]
    locator = elm.get("locator")
    if "source" in elm:
        source = c.compile(elm["source"])
    else:
        scope = elm.get("scope")
        if scope is None or not isinstance(c, LibraryCompiler):
            raise ElmError(f"Property {path} without source or scope")
        slot = c.lookup(scope, elm)

        def source(ctx: Any) -> Any:
            return ctx.slots[slot]

    if "." in path:
        get = property_getter(path)

        def dotted(ctx: Any) -> Any:
            try:
                return get(source(ctx))
            except Exception as e:
                fault(e, locator)
        return dotted

    # The common cases inline (one call less per access): FHIR elements and tuples.
    if "source" not in elm:
        def of_alias(ctx: Any) -> Any:
            try:
                obj = ctx.slots[slot]
                cls = type(obj)
                if cls is FhirElement:
                    return obj.cql_property(path)
                if cls is CqlTuple:
                    return obj._elements.get(path)
                return get_property(obj, path)
            except Exception as e:
                fault(e, locator)
        return of_alias

    def simple(ctx: Any) -> Any:
        try:
            obj = source(ctx)
            cls = type(obj)
            if cls is FhirElement:
                return obj.cql_property(path)
            if cls is CqlTuple:
                return obj._elements.get(path)
            return get_property(obj, path)
        except Exception as e:
            fault(e, locator)
    return simple


# -- children and descendents ----------------------------------------------------------------


def children(value: Any) -> list[Any]:
    """The values of a structured value's elements (CQL ``Children``), nulls left out; a
    list's children are its elements; a primitive has none."""
    cls = type(value)
    if value is None:
        return []
    if cls is list:
        return [v for v in value if v is not None]
    if cls is FhirElement:
        found: list[Any] = []
        for name in fhir_model().element_names(value.fhir_type):
            v = value.cql_property(name)
            if type(v) is list:
                found.extend(x for x in v if x is not None)
            elif v is not None:
                found.append(v)
        return found
    if cls is FhirPrimitive:
        return [v for v in (value.id, value.value) if v is not None] + list(value.extension or ())
    if cls is CqlTuple:
        return [v for v in value._elements.values() if v is not None]
    attrs = _ATTRIBUTES.get(cls)
    if attrs is not None:
        found = []
        for attr in attrs.values():
            v = getattr(value, attr)
            if type(v) is tuple:
                found.extend(v)
            elif v is not None:
                found.append(v)
        return found
    return []


@node("Children")
def compile_children(elm: ElmNode, c: Compiler) -> Evaluator:
    source = c.compile(elm["source"])

    def children_of(ctx: Any) -> Any:
        value = source(ctx)
        return None if value is None else children(value)
    return children_of


@node("Descendents")
def compile_descendents(elm: ElmNode, c: Compiler) -> Evaluator:
    source = c.compile(elm["source"])

    def descendents(ctx: Any) -> Any:
        value = source(ctx)
        if value is None:
            return None
        # Depth first, each element before its own descendents.
        found: list[Any] = []
        stack = list(reversed(children(value)))
        while stack:
            item = stack.pop()
            found.append(item)
            stack.extend(reversed(children(item)))
        return found
    return descendents
