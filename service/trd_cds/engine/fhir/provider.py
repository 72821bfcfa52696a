"""FHIR R4 data over plain JSON dicts, shaped so FHIRHelpers (plain CQL) can convert it.

* A resource or complex element is a :class:`FhirElement`: the JSON dict itself (a ``dict``
  subclass, shallow-copied once) that also knows its FHIR type name, computed from the model
  path when a property is read. ``is``/``as`` and the encoder read ``fhir_type``.
* A primitive is a :class:`FhirPrimitive` carrying its FHIR type, the System value of
  ``.value`` (``dateTime``/``instant`` → ``temporal.DateTime``, ``date`` → ``Date``,
  ``decimal`` → ``Decimal``, ``integer`` and subtypes → ``int``, ``boolean`` → ``bool``,
  ``string``/``code``/``uri``/… → ``str``) and ``id``/``extension`` from the ``_name`` sibling.
* Choice elements (``effective[x]``) are read from whichever ``effectiveDateTime`` /
  ``effectivePeriod`` key is present, so the value knows its actual type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from ..datatypes.temporal import Date, DateTime, Time
from ..datatypes.values import Code, Interval
from .model import ElementType, FhirModel, fhir_model


class FhirElement(dict[str, Any]):
    """A FHIR resource or complex element: its JSON dict plus its FHIR type name.

    The CQL value of each property is built once and kept (``_read``): CQL values are
    immutable, so every later read - FHIRHelpers conversions, several defines over the same
    resource - gets the same object back instead of wrapping the JSON again.
    """

    __slots__ = ("_read", "fhir_type")

    def __init__(self, fhir_type: str, json: dict[str, Any]) -> None:
        super().__init__(json)
        self.fhir_type = fhir_type
        self._read: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"FHIR.{self.fhir_type}{dict.__repr__(self)}"

    def cql_property(self, name: str) -> Any:
        read = self._read
        if read is None:
            read = self._read = {}
        elif name in read:
            return read[name]
        accessor = _ACCESSORS.get((self.fhir_type, name))
        if accessor is None:
            accessor = _ACCESSORS[(self.fhir_type, name)] = _accessor(self.fhir_type, name)
        value = read[name] = accessor(self)
        return value


class FhirPrimitive:
    """A FHIR primitive: ``value`` is the System value FHIRHelpers unwraps."""

    __slots__ = ("extension", "fhir_type", "id", "value")

    def __init__(
        self, fhir_type: str, value: Any, id: str | None = None, extension: list[Any] | None = None
    ) -> None:
        self.fhir_type = fhir_type
        self.value = value
        self.id = id
        self.extension = extension

    def cql_property(self, name: str) -> Any:
        if name == "value":
            return self.value
        if name == "id":
            return self.id
        if name == "extension":
            return self.extension
        return None

    def __repr__(self) -> str:
        return f"FHIR.{self.fhir_type}({self.value!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FhirPrimitive):
            return bool(self.value == other.value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)

    # CQL equality of two FHIR primitives is that of their values (e.g. `M.id = N.id`).
    def _cql_equal(self, other: Any) -> bool | None:
        from ..datatypes.values import equal

        return equal(self.value, other.value if isinstance(other, FhirPrimitive) else other)

    def _cql_equivalent(self, other: Any) -> bool:
        from ..datatypes.values import equivalent

        return equivalent(self.value, other.value if isinstance(other, FhirPrimitive) else other)

    def _cql_compare(self, other: Any, precision: Any = None) -> int | None:
        from ..datatypes.values import compare_at

        return compare_at(
            self.value, other.value if isinstance(other, FhirPrimitive) else other, precision
        )


Accessor = Callable[[FhirElement], Any]
_ACCESSORS: dict[tuple[str, str], Accessor] = {}


def _decimal(raw: Any) -> Decimal:
    # JSON parsers give floats; repr keeps the digits as written for any sane decimal.
    return (
        raw
        if isinstance(raw, Decimal)
        else Decimal(repr(raw) if isinstance(raw, float) else str(raw))
    )


def _boolean(raw: Any) -> bool:
    # bool("false") is True: a boolean written as a string is read by its text.
    return raw if type(raw) is bool else str(raw).lower() == "true"


def _integer(raw: Any) -> int:
    return raw if type(raw) is int else int(raw)


_SYSTEM_PARSERS: dict[str, Callable[[Any], Any]] = {
    "System.String": str,
    "System.Boolean": _boolean,
    "System.Integer": _integer,
    "System.Long": _integer,
    "System.Decimal": _decimal,
    "System.DateTime": DateTime.parse,
    "System.Date": Date.parse,
    "System.Time": Time.parse,
}


def _wrapper(model: FhirModel, fhir_type: str) -> Callable[[Any, Any], Any]:
    """A function (json value, `_name` sibling) -> CQL value of the given FHIR type."""
    if fhir_type.startswith("System."):
        parse_system = _SYSTEM_PARSERS.get(fhir_type)
        return (
            (lambda raw, _ext: raw)
            if parse_system is None
            else (lambda raw, _ext: None if raw is None else parse_system(raw))
        )
    system = model.primitive_type(fhir_type)
    if system is not None:
        parse = _SYSTEM_PARSERS.get(system, lambda raw: raw)

        def primitive(raw: Any, ext: Any) -> Any:
            if isinstance(raw, FhirPrimitive):
                return raw
            if raw is None and ext is None:
                return None
            if isinstance(ext, dict):
                return FhirPrimitive(
                    fhir_type,
                    None if raw is None else parse(raw),
                    ext.get("id"),
                    _extensions(model, ext.get("extension")),
                )
            return FhirPrimitive(fhir_type, None if raw is None else parse(raw))

        return primitive

    def element(raw: Any, _ext: Any) -> Any:
        if not isinstance(raw, dict) or isinstance(raw, FhirElement):
            return raw
        resource_type = raw.get("resourceType")
        # Elements typed Resource (Bundle.entry.resource, contained) name their own type.
        actual = resource_type if isinstance(resource_type, str) else fhir_type
        return FhirElement(actual, raw)

    return element


def _extensions(model: FhirModel, raw: Any) -> list[Any] | None:
    if not isinstance(raw, list):
        return None
    return [FhirElement("Extension", e) if isinstance(e, dict) else e for e in raw]


def _accessor(type_name: str, name: str) -> Accessor:
    model = fhir_model()
    declared = model.element(type_name, name)
    if declared is None:
        # Not in the model (an extension point, a misspelt path): read the JSON as is.
        return lambda obj: obj.get(name)
    if declared.is_choice:
        return _choice_accessor(model, name, declared)
    wrap = _wrapper(model, declared.types[0])
    sibling = "_" + name
    if declared.is_list:

        def many(obj: FhirElement) -> Any:
            raw = obj.get(name)
            ext = obj.get(sibling)
            if raw is None and ext is None:
                return None
            raw_list = raw if isinstance(raw, list) else [raw]
            ext_list = ext if isinstance(ext, list) else []
            return [
                wrap(r, ext_list[i] if i < len(ext_list) else None) for i, r in enumerate(raw_list)
            ]

        return many

    def one(obj: FhirElement) -> Any:
        return wrap(obj.get(name), obj.get(sibling))

    return one


# Profiles of Quantity are written with the base type's suffix (`doseQuantity`).
_PROFILE_SUFFIX = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}


def _json_suffix(type_name: str) -> str:
    local = type_name.rsplit(".", 1)[-1]
    return _PROFILE_SUFFIX.get(local) or local[:1].upper() + local[1:]


def _choice_accessor(model: FhirModel, name: str, declared: ElementType) -> Accessor:
    # `effective` is stored as `effectiveDateTime`, `effectivePeriod`, … in JSON.
    options = [(name + _json_suffix(t), _wrapper(model, t)) for t in declared.types]

    def choice(obj: FhirElement) -> Any:
        for key, wrap in options:
            raw = obj.get(key)
            if raw is not None or ("_" + key) in obj:
                return wrap(raw, obj.get("_" + key))
        return obj.get(name)  # already-shaped data (an Instance built in CQL)

    return choice


def codes_of(value: Any) -> list[Code]:
    """The codes of a FHIR CodeableConcept/Coding/code (or System Code/Concept), any nesting."""
    from ..datatypes.values import Concept

    out: list[Code] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if v is None:
            continue
        if isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, Code):
            out.append(v)
        elif isinstance(v, Concept):
            out.extend(v.codes)
        elif isinstance(v, FhirElement):
            if v.fhir_type == "Coding" or ("code" in v and "coding" not in v):
                code = v.get("code")
                if isinstance(code, str):
                    out.append(Code(code, v.get("system"), v.get("version"), v.get("display")))
            elif isinstance(v.get("coding"), list):
                stack.extend(
                    FhirElement("Coding", c) for c in reversed(v["coding"]) if isinstance(c, dict)
                )
        elif isinstance(v, FhirPrimitive) and isinstance(v.value, str):
            out.append(Code(v.value))
        elif isinstance(v, str):
            out.append(Code(v))
    return out


def interval_of(value: Any) -> Interval | None:
    """A FHIR dateTime/date/instant/Period (or System temporal/Interval) as an Interval."""
    if value is None:
        return None
    if isinstance(value, Interval):
        return value
    if isinstance(value, FhirPrimitive):
        value = value.value
    if isinstance(value, (DateTime, Date)):
        return Interval(value, value, True, True)
    if isinstance(value, FhirElement) and value.fhir_type == "Period":
        start = value.cql_property("start")
        end = value.cql_property("end")
        low = start.value if isinstance(start, FhirPrimitive) else None
        high = end.value if isinstance(end, FhirPrimitive) else None
        if low is None and high is None:
            return None
        # A Period without an end is ongoing; without a start it began at an unknown time.
        return Interval(low, high, True, True)
    return None


class FhirDataProvider:
    """One patient's FHIR R4 resources, read from JSON dicts (e.g. a Bundle's entries).

    Resources are wrapped once, when the provider is built; ``retrieve`` returns them by type
    (the engine applies the code and date filters, see :mod:`engine.data`).
    """

    def __init__(self, resources: Iterable[dict[str, Any]]) -> None:
        self._by_type: dict[str, list[FhirElement]] = {}
        self._by_ref: dict[str, FhirElement] = {}
        for raw in resources:
            resource_type = raw.get("resourceType")
            if not isinstance(resource_type, str):
                continue
            element = raw if isinstance(raw, FhirElement) else FhirElement(resource_type, raw)
            self._by_type.setdefault(resource_type, []).append(element)
            rid = raw.get("id")
            if isinstance(rid, str):
                self._by_ref[f"{resource_type}/{rid}"] = element

    @classmethod
    def from_bundle(cls, bundle: dict[str, Any]) -> FhirDataProvider:
        entries = bundle.get("entry") or []
        return cls(
            e["resource"]
            for e in entries
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        )

    def retrieve(
        self,
        data_type: str,
        *,
        code_path: str | None = None,
        codes: Sequence[Code] | None = None,
        valueset: str | None = None,
        date_path: str | None = None,
        date_range: Interval | None = None,
        template_id: str | None = None,
    ) -> Sequence[Any]:
        found = self._by_type.get(data_type)
        if found is not None:
            return found
        # A type without data, or an abstract one (Resource, DomainResource) that retrieves
        # every subtype: computed once, then remembered like the concrete types.
        model = fhir_model()
        if not model.has_type(data_type):
            return ()
        found = [r for t, rs in self._by_type.items() if model.is_subtype(t, data_type)
                 for r in rs]
        self._by_type[data_type] = found
        return found

    def resolve(self, reference: str) -> FhirElement | None:
        """The resource a relative reference ('Medication/123') points to, if in the data."""
        found = self._by_ref.get(reference)
        if found is None and "/" in reference:
            # Absolute references end with Type/id.
            parts = reference.rstrip("/").rsplit("/", 2)
            if len(parts) >= 2:
                found = self._by_ref.get(f"{parts[-2]}/{parts[-1]}")
        return found
