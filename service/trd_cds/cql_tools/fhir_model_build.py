"""Builds the compact FHIR model JSON the engine ships from an ELM model info XML.

The running service must not need Node, so the parts of the FHIR 4.0.1 model info the engine
reads (type hierarchy, element types, choice types, primitive value types, primary code paths)
are extracted once and committed as ``engine/fhir/data/fhir-4.0.1-model.json``::

    python -m trd_cds.cql_tools.fhir_model_build \\
        cql/node_modules/cql-exec-fhir/lib/modelInfos/fhir-modelinfo-4.0.1.xml \\
        service/trd_cds/engine/fhir/data/fhir-4.0.1-model.json

Element types are written as strings: ``"Period"`` (a FHIR type), ``"System.String"``, a list
``["Identifier"]`` for list-valued elements, or ``{"choice": ["dateTime", "Period"]}``.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from typing import Any

_NS = "{urn:hl7-org:elm-modelinfo:r1}"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _short(name: str) -> str:
    """'FHIR.Period' -> 'Period'; System types keep their prefix."""
    return name[5:] if name.startswith("FHIR.") else name


def _spec(el: ET.Element) -> Any:
    if el.get("elementType"):
        return _short(el.attrib["elementType"])
    # Element truthiness is its child count, so test against None explicitly.
    spec = el.find(f"{_NS}elementTypeSpecifier")
    if spec is None:
        spec = el.find(f"{_NS}typeSpecifier")
    if spec is None:
        return "System.Any"
    return _type_specifier(spec)


def _type_specifier(spec: ET.Element) -> Any:
    kind = spec.get(_XSI_TYPE, "")
    if kind.endswith("ListTypeSpecifier"):
        if spec.get("elementType"):
            return [_short(spec.attrib["elementType"])]
        inner = spec.find(f"{_NS}elementTypeSpecifier")
        return [_type_specifier(inner) if inner is not None else "System.Any"]
    if kind.endswith("ChoiceTypeSpecifier"):
        choices = [
            _short(f"{c.get('namespace', 'FHIR')}.{c.get('name')}")
            for c in spec.findall(f"{_NS}choice")
        ]
        return {"choice": choices}
    namespace = spec.get("namespace") or spec.get("modelName") or "FHIR"
    return _short(f"{namespace}.{spec.get('name')}")


def build(xml_text: str) -> dict[str, Any]:
    root = ET.fromstring(xml_text)
    types: dict[str, Any] = {}
    for info in root.findall(f"{_NS}typeInfo"):
        name = info.get("name")
        if not name:
            continue
        entry: dict[str, Any] = {"base": _short(info.get("baseType", "System.Any"))}
        elements = {el.attrib["name"]: _spec(el) for el in info.findall(f"{_NS}element")}
        if elements:
            entry["elements"] = elements
        if info.get("retrievable") == "true":
            entry["retrievable"] = True
        if info.get("primaryCodePath"):
            entry["primaryCodePath"] = info.attrib["primaryCodePath"]
        types[name] = entry
    return {
        "name": root.get("name"),
        "version": root.get("version"),
        "url": root.get("url"),
        "types": types,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        model = build(f.read())
    with open(argv[1], "w", encoding="utf-8") as f:
        json.dump(model, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
