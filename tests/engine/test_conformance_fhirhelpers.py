"""FHIRHelpers and the FHIR data path agree with the reference JS engine (cql-execution).

A small library converts every kind of FHIR value FHIRHelpers handles; it is evaluated over one
bundle by our engine (``cql run``) and by cql-execution (``cql/tools/reference-run.mjs``), and the
two results files must agree value by value. A few results are also checked against FHIR's own
semantics, so the two engines cannot agree on something wrong unnoticed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from trd_cds.cql_tools.conformance import checkout_dir
from trd_cds.cql_tools.tool import evaluate_bundles
from trd_cds.engine.encoding import compare_results

ROOT = checkout_dir()

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "cql" / "node_modules" / "cql-execution").exists(),
    reason="needs Node and cql/node_modules (make setup-node)")

LIBRARY = """library FHIRHelpersCheck version '1.0.0'

using FHIR version '4.0.1'

include FHIRHelpers version '4.0.1' called FHIRHelpers

context Patient

define "Gender": FHIRHelpers.ToString(Patient.gender)
define "Birth Date": FHIRHelpers.ToDate(Patient.birthDate)
define "Active": FHIRHelpers.ToBoolean(Patient.active)
define "Deceased": Patient.deceased as FHIR.boolean
define "Implicit Date Compare": Patient.birthDate < @1990-01-01
define "Final Ids": [Observation] O where O.status = 'final' return O.id.value
// Each query returns (id, value) tuples: a plain `return` is distinct and would merge nulls.
define "Statuses": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToString(O.status) }
define "Codes": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToCode(First(O.code.coding)) }
define "Concepts": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToConcept(O.code) }
define "Quantities": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToQuantity(O.value as FHIR.Quantity) }
define "Ranges": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToInterval(O.value as FHIR.Range) }
define "Ratios": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToRatio(O.value as FHIR.Ratio) }
define "Times": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToTime(O.value as FHIR.time) }
define "Integers": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToInteger(O.value as FHIR.integer) }
define "Issued": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToDateTime(O.issued) }
define "Effective Periods": [Observation] O return Tuple { id: O.id.value, v: FHIRHelpers.ToInterval(O.effective as FHIR.Period) }
define "Effective Times": [Observation] O return Tuple { id: O.id.value, v: O.effective as FHIR.dateTime }
define "Recent": [Observation] O where (O.effective as FHIR.dateTime) after @2024-01-01T00:00:00Z
define "High Scores": [Observation] O where (O.value as FHIR.Quantity) > 10 '{score}'
"""

UCUM = "http://unitsofmeasure.org"


def observation(oid: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": extra.pop("status", "final"),
            "subject": {"reference": "Patient/fh1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6",
                                 "display": "PHQ-9 total"}], "text": "PHQ-9"},
            **extra}


BUNDLE = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in [
    {"resourceType": "Patient", "id": "fh1", "gender": "female", "birthDate": "1985-07-14",
     "active": True, "deceasedBoolean": False},
    observation("q-ucum", valueQuantity={"value": 17, "unit": "score", "system": UCUM,
                                         "code": "{score}"},
                effectiveDateTime="2024-03-01T09:30:00Z", issued="2024-03-01T10:00:00.123Z"),
    observation("q-nosystem", valueQuantity={"value": 4.5, "unit": "mg"},
                effectivePeriod={"start": "2024-02-01", "end": "2024-02-15"}),
    observation("q-comparator", status="amended",
                valueQuantity={"value": 5, "comparator": "<", "system": UCUM, "code": "mg"},
                effectivePeriod={"end": "2024-02-15T08:00:00+01:00"}),
    observation("q-other-system", valueQuantity={"value": 2, "system": "http://example.org/u",
                                                 "code": "tab"},
                effectivePeriod={"start": "2023-12-01"}),
    observation("q-calendar", valueQuantity={"value": 3, "system":
                                             "http://hl7.org/fhirpath/CodeSystem/calendar-units",
                                             "code": "wk"}),
    observation("range", valueRange={"low": {"value": 1, "system": UCUM, "code": "mg"},
                                     "high": {"value": 3, "system": UCUM, "code": "mg"}}),
    observation("range-open", valueRange={"high": {"value": 3, "system": UCUM, "code": "mg"}}),
    observation("ratio", valueRatio={"numerator": {"value": 1, "system": UCUM, "code": "mg"},
                                     "denominator": {"value": 2, "system": UCUM, "code": "mL"}}),
    observation("time", valueTime="14:30:00"),
    observation("integer", valueInteger=42, status="preliminary",
                effectiveDateTime="2024-03-02T10:00:00"),
]]}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    tmp = tmp_path_factory.mktemp("fhirhelpers")
    elm_dir = tmp / "elm"
    elm_dir.mkdir()
    shutil.copy(ROOT / "cql" / "elm" / "FHIRHelpers.json", elm_dir / "FHIRHelpers.json")
    source = tmp / "FHIRHelpersCheck.cql"
    source.write_text(LIBRARY, encoding="utf-8")
    translated = subprocess.run(
        ["node", str(ROOT / "cql" / "tools" / "translate.mjs"), "--lib-dir", str(ROOT / "cql"),
         str(source)], capture_output=True, text=True, check=False)
    assert translated.returncode == 0, translated.stderr
    (elm_dir / "FHIRHelpersCheck.json").write_text(translated.stdout, encoding="utf-8")
    bundle = tmp / "bundle.json"
    bundle.write_text(json.dumps(BUNDLE), encoding="utf-8")

    ours = evaluate_bundles(library="FHIRHelpersCheck", bundles=[bundle], elm_dir=elm_dir,
                            valueset_dir=None, as_of="2024-06-01")
    ref = subprocess.run(
        ["node", str(ROOT / "cql" / "tools" / "reference-run.mjs"), "--library", "FHIRHelpersCheck",
         "--elm-dir", str(elm_dir), "--valuesets", str(tmp / "none"), "--as-of", "2024-06-01",
         "--bundles", str(bundle)], capture_output=True, text=True, check=False)
    assert ref.returncode == 0, ref.stderr
    return ours, json.loads(ref.stdout)


def test_our_engine_agrees_with_cql_execution(results: tuple[Any, Any]) -> None:
    ours, theirs = results
    assert compare_results(ours, theirs) == []


def by_id(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {r["id"]: r["v"] for r in rows}


def test_fhir_semantics_of_the_conversions(results: tuple[Any, Any]) -> None:
    row = results[0]["fh1"]
    assert row["Gender"] == "female"
    assert row["Birth Date"] == {"type": "Date", "value": "1985-07-14"}
    assert row["Active"] is True and row["Deceased"] is False
    assert row["Implicit Date Compare"] is True
    assert row["Final Ids"] == ["q-ucum", "q-nosystem", "q-other-system", "q-calendar", "range",
                                "range-open", "ratio", "time"]
    assert by_id(row["Statuses"])["integer"] == "preliminary"
    assert by_id(row["Codes"])["time"] == {"type": "Code", "code": "44261-6",
                                           "system": "http://loinc.org", "display": "PHQ-9 total"}
    assert by_id(row["Concepts"])["time"]["display"] == "PHQ-9"
    quantities = by_id(row["Quantities"])
    assert quantities["q-ucum"] == {"type": "Quantity", "value": 17.0, "unit": "{score}"}
    assert quantities["q-nosystem"] == {"type": "Quantity", "value": 4.5, "unit": "mg"}
    assert quantities["q-comparator"] is None  # '< 5 mg' is not the value 5 mg
    assert quantities["q-other-system"] is None  # a unit CQL cannot interpret
    assert quantities["q-calendar"] == {"type": "Quantity", "value": 3.0, "unit": "week"}
    periods = by_id(row["Effective Periods"])
    # No start: unknown start (open null bound). No end: ongoing (closed null bound).
    assert periods["q-comparator"]["low"] is None and periods["q-comparator"]["lowClosed"] is False
    assert periods["q-other-system"]["high"] is None and periods["q-other-system"]["highClosed"]
    ranges = by_id(row["Ranges"])
    assert ranges["range"]["lowClosed"] and ranges["range"]["low"]["unit"] == "mg"
    assert ranges["range-open"]["low"] is None and ranges["range-open"]["lowClosed"] is False
    assert by_id(row["Ratios"])["ratio"]["denominator"] == {"type": "Quantity", "value": 2.0,
                                                            "unit": "mL"}
    assert by_id(row["Times"])["time"] == {"type": "Time", "value": "14:30:00"}
    assert by_id(row["Integers"])["integer"] == 42
    assert by_id(row["Issued"])["q-ucum"] == {"type": "DateTime",
                                              "value": "2024-03-01T10:00:00.123+00:00"}
    # A FHIR dateTime without an offset takes the evaluation's offset (+00:00 here).
    assert by_id(row["Effective Times"])["integer"] == {"type": "DateTime",
                                                        "value": "2024-03-02T10:00:00+00:00"}
    assert [r["id"] for r in row["Recent"]] == ["q-ucum", "integer"]
    assert [r["id"] for r in row["High Scores"]] == ["q-ucum"]
