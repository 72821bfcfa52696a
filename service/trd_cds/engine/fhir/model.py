"""FHIR models as the engine needs them: type hierarchy and element types, by FHIR version.

A library names its model with ``using FHIR version '4.0.1'`` (ELM ``usings``); the library
manager looks that up in :data:`PACKAGED_MODELS` through :func:`model_for`, and an unknown
model or version is an :class:`ElmError` at load. Each packaged model is a compact JSON file in
``data/`` that ``cql_tools.fhir_model_build`` extracts from the model info XML of the
translator toolchain (so the service needs no Node at run time). Type names
are FHIR local names (``'Period'``, ``'MedicationStatement'``, ``'Bundle.Entry'``); System
types keep their prefix (``'System.String'``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..errors import ElmError

FHIR_URI = "http://hl7.org/fhir"
SYSTEM_URI = "urn:hl7-org:elm-types:r1"


@dataclass(frozen=True, slots=True)
class ElementType:
    """The declared type of one element: FHIR or System type names, a list, or a choice."""

    types: tuple[str, ...]  # one name, or the choices of a choice type
    is_list: bool = False

    @property
    def is_choice(self) -> bool:
        return len(self.types) > 1


class FhirModel:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw.get("version", "")
        self._types: dict[str, dict[str, Any]] = raw["types"]
        self._elements: dict[tuple[str, str], ElementType | None] = {}
        self._ancestors: dict[str, frozenset[str]] = {}
        self._primitive: dict[str, str | None] = {}

    def has_type(self, name: str) -> bool:
        return name in self._types

    def base(self, name: str) -> str | None:
        info = self._types.get(name)
        return info["base"] if info else None

    def ancestors(self, name: str) -> frozenset[str]:
        """The type itself and every base type up to ``System.Any``."""
        found = self._ancestors.get(name)
        if found is None:
            chain = [name]
            current: str | None = name
            while current is not None and current in self._types:
                current = self._types[current]["base"]
                if current is not None:
                    chain.append(current)
            found = self._ancestors[name] = frozenset(chain)
        return found

    def is_subtype(self, name: str, base: str) -> bool:
        return base in self.ancestors(name)

    def element(self, type_name: str, element: str) -> ElementType | None:
        """The declared type of ``type_name.element``, looking through base types."""
        key = (type_name, element)
        if key in self._elements:
            return self._elements[key]
        found: ElementType | None = None
        current: str | None = type_name
        while current is not None and current in self._types:
            info = self._types[current]
            spec = info.get("elements", {}).get(element)
            if spec is not None:
                found = _element_type(spec)
                break
            current = info["base"]
        self._elements[key] = found
        return found

    def element_names(self, type_name: str) -> list[str]:
        """Every element of a type, base types' first (as the model info orders them)."""
        chain: list[str] = []
        current: str | None = type_name
        while current is not None and current in self._types:
            chain.append(current)
            current = self._types[current]["base"]
        return [name for t in reversed(chain) for name in self._types[t].get("elements", {})]

    def primitive_type(self, name: str) -> str | None:
        """The System type of a FHIR primitive's ``value`` ('System.DateTime'), else None.

        Primitives include the code enumerations (``MedicationStatementStatus``): any type whose
        own or inherited ``value`` element has a System type.
        """
        if name in self._primitive:
            return self._primitive[name]
        value = self.element(name, "value") if name in self._types else None
        result = None
        if value is not None and not value.is_list and not value.is_choice:
            declared = value.types[0]
            if declared.startswith("System."):
                result = declared
        self._primitive[name] = result
        return result


def _element_type(spec: Any) -> ElementType:
    if isinstance(spec, str):
        return ElementType((spec,))
    if isinstance(spec, list):
        inner = _element_type(spec[0])
        return ElementType(inner.types, is_list=True)
    return ElementType(tuple(spec["choice"]))


# FHIR version -> the packaged model file (in this package's data folder).
PACKAGED_MODELS: dict[str, str] = {"4.0.1": "data/fhir-4.0.1-model.json"}
# The version the FHIR JSON data provider reads (FHIR R4 JSON).
R4 = "4.0.1"


@cache
def packaged_model(version: str) -> FhirModel:
    """The packaged FHIR model of ``version``, loaded once per process (about 20 ms)."""
    file = PACKAGED_MODELS.get(version)
    if file is None:
        raise ElmError(f"FHIR version {version} has no packaged model "
                       f"(packaged: {', '.join(sorted(PACKAGED_MODELS))})")
    text = resources.files(__package__ or __name__).joinpath(file).read_text(encoding="utf-8")
    return FhirModel(json.loads(text))


def model_for(uri: str, version: str | None) -> FhirModel | None:
    """The model of one ELM ``using`` (None for the System model); raises ElmError when the
    engine has no such model."""
    if uri == SYSTEM_URI:
        return None
    if uri != FHIR_URI:
        raise ElmError(f"unsupported data model {uri} (the engine knows FHIR and System)")
    if version is None:
        raise ElmError("using FHIR without a version: the engine needs one to pick the model")
    return packaged_model(version)


def fhir_model() -> FhirModel:
    """The model of the FHIR R4 JSON the data provider reads."""
    return packaged_model(R4)


def split_type_name(qualified: str) -> tuple[str, str]:
    """'{http://hl7.org/fhir}Period' -> ('http://hl7.org/fhir', 'Period');
    'FHIR.Period' -> ('http://hl7.org/fhir', 'Period'); 'System.Integer' likewise."""
    if qualified.startswith("{"):
        uri, _, local = qualified[1:].partition("}")
        return uri, local
    prefix, _, local = qualified.partition(".")
    if prefix == "FHIR":
        return FHIR_URI, local
    if prefix == "System":
        return SYSTEM_URI, local
    return "", qualified
