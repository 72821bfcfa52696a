"""Retrieves by code read each resource's codes once per evaluation, and test codes that are
alike once per retrieve, instead of reading and testing every resource on every retrieve.

A terminology provider that counts its calls shows how often codes are tested; the results
must be those of a plain scan: same resources, same order, whichever coding they carry.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cql_translate import needs_translator, translate

from trd_cds.engine import DateTime, Engine, FhirDataProvider, ValueSetDirectory

pytestmark = needs_translator

LOINC = "http://loinc.org"
NOW = DateTime(2025, 1, 1, 0, 0, 0, 0, Decimal(0))

LIBRARY = """
library RetrieveCodes version '1.0.0'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1' called FHIRHelpers

codesystem "LOINC": 'http://loinc.org'
valueset "Totals": 'http://example.org/ValueSet/totals'
valueset "Pressures": 'http://example.org/ValueSet/pressures'
code "Item 9": '44260-8' from "LOINC"

context Patient

define "Total Ids": [Observation: "Totals"] O return O.id.value
define "Pressure Ids": [Observation: "Pressures"] O return O.id.value
define "Item Ids": [Observation: "Item 9"] O return O.id.value
define "Total Ids Again": [Observation: "Totals"] O return O.id.value
"""


def value_set(name: str, *codes: str) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "url": f"http://example.org/ValueSet/{name}",
            "expansion": {"contains": [{"system": LOINC, "code": c} for c in codes]}}


def observation(n: int, *codings: tuple[str, str]) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": f"o{n}", "status": "final",
            "code": {"coding": [{"system": s, "code": c} for s, c in codings]}}


class CountingValueSets(ValueSetDirectory):
    def __init__(self, value_sets: list[dict[str, Any]]) -> None:
        super().__init__(value_sets)
        self.calls = 0

    def in_valueset(self, codes: Any, url: str, version: str | None = None) -> bool:
        self.calls += 1
        return super().in_valueset(codes, url, version)


# 40 Observations in three codings (one of them with two codes) and one without a code.
RESOURCES = [observation(n, (LOINC, ("44261-6", "8480-6", "44260-8")[n % 3])) for n in range(39)]
RESOURCES.append(observation(39, ("http://example.org/local", "x"), (LOINC, "8462-4")))
RESOURCES.append({"resourceType": "Observation", "id": "o40", "status": "final"})


def evaluate(terminology: ValueSetDirectory) -> dict[str, Any]:
    engine = Engine.from_elm(translate(LIBRARY))
    return engine.evaluate("RetrieveCodes", data=FhirDataProvider(RESOURCES), now=NOW,
                           terminology=terminology)


def test_retrieves_by_code_give_the_scanned_resources_in_order() -> None:
    results = evaluate(ValueSetDirectory([value_set("totals", "44261-6"),
                                          value_set("pressures", "8480-6", "8462-4")]))
    assert results["Total Ids"] == [f"o{n}" for n in range(0, 39, 3)]
    assert results["Total Ids Again"] == results["Total Ids"]
    assert results["Pressure Ids"] == [f"o{n}" for n in range(1, 39, 3)] + ["o39"]
    assert results["Item Ids"] == [f"o{n}" for n in range(2, 39, 3)]


def test_codes_alike_are_tested_once_per_retrieve() -> None:
    terminology = CountingValueSets([value_set("totals", "44261-6"),
                                     value_set("pressures", "8480-6", "8462-4")])
    evaluate(terminology)
    # Three value-set retrieves over four distinct codings (the uncoded resource is never
    # tested): 12 tests, not one per resource and retrieve (3 x 40).
    assert terminology.calls == 3 * 4
