"""FHIR R4 data through the engine: primitives, choice types, is/as, retrieves, references."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import (
    Engine,
    FhirDataProvider,
    FhirElement,
    FhirPrimitive,
    ValueSetDirectory,
)
from trd_cds.engine.datatypes.temporal import Date, DateTime
from trd_cds.engine.datatypes.values import Code, Concept, Interval, Quantity
from trd_cds.engine.fhir.model import fhir_model

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
NOW = DateTime(2025, 1, 1, 0, 0, 0, 0, Decimal(0))


def coding(code: str, system: str = RXNORM) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01", "gender": "female",
     "_gender": {"extension": [{"url": "http://example.org/x", "valueString": "note"}]}},
    {"resourceType": "Medication", "id": "med1", "code": coding("36437")},
    {"resourceType": "MedicationStatement", "id": "ms1", "status": "active",
     "medicationCodeableConcept": coding("36437"),
     "effectivePeriod": {"start": "2024-02-01", "end": "2024-05-01"},
     "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 50.5, "unit": "mg"}}]}]},
    {"resourceType": "MedicationStatement", "id": "ms2", "status": "completed",
     "medicationReference": {"reference": "Medication/med1"},
     "effectiveDateTime": "2023-02-01T10:00:00Z"},
    {"resourceType": "MedicationStatement", "id": "ms3", "status": "active",
     "medicationCodeableConcept": coding("999999"),
     "effectiveDateTime": "2024-03-01"},
    {"resourceType": "Condition", "id": "c1", "code": coding("35489007", SNOMED),
     "onsetDateTime": "2020-01-01", "category": [coding("problem-list-item", SNOMED)]},
]

VALUE_SETS = [{
    "resourceType": "ValueSet", "url": "http://example.org/ValueSet/sertraline",
    "compose": {"include": [{"system": RXNORM, "concept": [{"code": "36437"}]}]},
}, {
    "resourceType": "ValueSet", "url": "http://example.org/ValueSet/depression",
    "expansion": {"contains": [{"system": SNOMED, "code": "35489007"}]},
}]

FHIR_LIB = """
library FhirTest version '1.0.0'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1' called FHIRHelpers

codesystem "RXNORM": 'http://www.nlm.nih.gov/research/umls/rxnorm'
valueset "Sertraline": 'http://example.org/ValueSet/sertraline'
valueset "Depression": 'http://example.org/ValueSet/depression'
code "Sertraline Code": '36437' from "RXNORM" display 'sertraline'
concept "Sertraline Concept": { "Sertraline Code" } display 'Sertraline'

context Patient

define "Birth Date": Patient.birthDate
define "Birth Date Value": Patient.birthDate.value
define "Gender": Patient.gender.value
define "Gender Extension Count": Count(Patient.gender.extension)
define "Statements": [MedicationStatement]
define "Sertraline By Value Set": [MedicationStatement: "Sertraline"] S return S.id.value
define "Sertraline By Code": [MedicationStatement: "Sertraline Code"] S return S.id.value
define "Sertraline By Concept": [MedicationStatement: "Sertraline Concept"] S return S.id.value
define "Conditions In Value Set": [Condition: "Depression"] C return C.id.value
define "Conditions By Category": [Condition: category in "Depression"] C return C.id.value
define "Periods":
  [MedicationStatement] S where S.effective is FHIR.Period return S.id.value
define "Date Times":
  [MedicationStatement] S where S.effective is FHIR.dateTime return S.id.value
define "Period Starts":
  [MedicationStatement] S return (S.effective as FHIR.Period).start.value
define "Effective Intervals":
  [MedicationStatement] S
    return if S.effective is FHIR.Period then FHIRHelpers.ToInterval(S.effective as FHIR.Period)
      else Interval[S.effective as FHIR.dateTime, S.effective as FHIR.dateTime]
define "In 2024":
  [MedicationStatement] S
    where (S.effective as FHIR.Period) overlaps Interval[@2024-01-01, @2025-01-01)
       or (S.effective as FHIR.dateTime) during Interval[@2024-01-01T00:00:00Z, @2025-01-01T00:00:00Z)
    return S.id.value
define "Is Resource": First([MedicationStatement]) is FHIR.DomainResource
define "Is Not Condition": First([MedicationStatement]) is FHIR.Condition
define "Id Is String": Patient.id is FHIR.string
define "Status Is Not String": First([MedicationStatement]).status is FHIR.string
define "As Medication Concept":
  [MedicationStatement] S return FHIRHelpers.ToConcept(S.medication as FHIR.CodeableConcept)
define "Concept In Value Set":
  [MedicationStatement] S return all (S.medication as FHIR.CodeableConcept) in "Sertraline"
define "Dose Quantities":
  [MedicationStatement] S
    return FHIRHelpers.ToQuantity(S.dosage[0].doseAndRate[0].dose as FHIR.SimpleQuantity)
define "Referenced Medication Codes":
  [MedicationStatement] S
    let ref: (S.medication as FHIR.Reference).reference.value
    where ref is not null
    return First([Medication] M where 'Medication/' + M.id.value = ref).code
define "Strict Cast Fails":
  (First([MedicationStatement] S where S.id = 'ms2').effective as FHIR.dateTime).value
define "Code In Code System": "Sertraline Code" in "RXNORM"
"""


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    engine = Engine.from_elm(translate(FHIR_LIB))
    return engine.evaluate(
        "FhirTest", data=FhirDataProvider(copy.deepcopy(RESOURCES)), now=NOW,
        terminology=ValueSetDirectory(VALUE_SETS))


@needs_translator
class TestThroughCql:
    def test_primitives_keep_their_fhir_type_and_convert_their_value(self, results: Any) -> None:
        birth = results["Birth Date"]
        assert isinstance(birth, FhirPrimitive) and birth.fhir_type == "date"
        assert results["Birth Date Value"] == Date(1980, 5, 1)
        assert results["Gender"] == "female"
        assert results["Gender Extension Count"] == 1

    def test_resources_know_their_type(self, results: Any) -> None:
        assert [s.fhir_type for s in results["Statements"]] == ["MedicationStatement"] * 3

    def test_retrieve_by_value_set_code_and_concept(self, results: Any) -> None:
        # ms2 names its medication through a Medication resource: the translator's expansion
        # of the retrieve follows the reference.
        assert sorted(results["Sertraline By Value Set"]) == ["ms1", "ms2"]
        assert sorted(results["Sertraline By Code"]) == ["ms1", "ms2"]
        assert sorted(results["Sertraline By Concept"]) == ["ms1", "ms2"]
        assert results["Conditions In Value Set"] == ["c1"]
        assert results["Conditions By Category"] == []

    def test_choice_types(self, results: Any) -> None:
        assert results["Periods"] == ["ms1"]
        assert sorted(results["Date Times"]) == ["ms2", "ms3"]
        assert results["Period Starts"] == [DateTime(2024, 2, 1), None]
        intervals = results["Effective Intervals"]
        assert intervals[0] == Interval(DateTime(2024, 2, 1), DateTime(2024, 5, 1))
        assert results["In 2024"] == ["ms1", "ms3"]

    def test_type_hierarchy(self, results: Any) -> None:
        assert results["Is Resource"] is True
        assert results["Is Not Condition"] is False
        # id is a subtype of string; the status enumeration is not (it derives from Element).
        assert results["Id Is String"] is True
        assert results["Status Is Not String"] is False

    def test_concepts_value_sets_and_quantities(self, results: Any) -> None:
        concepts = results["As Medication Concept"]
        assert concepts[0] == Concept((Code("36437", RXNORM),))
        assert concepts[1] is None
        assert results["Concept In Value Set"] == [True, False, False]
        assert results["Dose Quantities"] == [Quantity(Decimal("50.5"), "mg"), None]
        assert results["Code In Code System"] is True

    def test_references_resolve_within_the_data(self, results: Any) -> None:
        (code,) = results["Referenced Medication Codes"]
        assert isinstance(code, FhirElement) and code.fhir_type == "CodeableConcept"
        assert code["coding"][0]["code"] == "36437"

    def test_a_dateTime_choice_converts(self, results: Any) -> None:
        assert results["Strict Cast Fails"] == DateTime(2023, 2, 1, 10, 0, 0, None, Decimal(0))


class TestProvider:
    def test_elements_and_primitives_from_the_model(self) -> None:
        ms = FhirElement("MedicationStatement", RESOURCES[2])
        period = ms.cql_property("effective")
        assert isinstance(period, FhirElement) and period.fhir_type == "Period"
        start = period.cql_property("start")
        assert isinstance(start, FhirPrimitive) and start.fhir_type == "dateTime"
        assert start.value == DateTime(2024, 2, 1)
        dosage = ms.cql_property("dosage")
        assert isinstance(dosage, list) and dosage[0].fhir_type == "Dosage"
        status = ms.cql_property("status")
        assert status.fhir_type == "MedicationStatementStatus" and status.value == "active"
        assert ms.cql_property("medication").fhir_type == "CodeableConcept"
        assert ms.cql_property("doesNotExist") is None

    def test_primitive_siblings_carry_id_and_extensions(self) -> None:
        patient = FhirElement("Patient", {
            "resourceType": "Patient", "birthDate": "1990",
            "_birthDate": {"id": "b1", "extension": [{"url": "u", "valueTime": "10:00"}]},
            "name": [{"given": ["A", "B"], "_given": [None, {"id": "g2"}]}]})
        birth = patient.cql_property("birthDate")
        assert birth.value == Date(1990) and birth.id == "b1"
        assert birth.extension[0].fhir_type == "Extension"
        given = patient.cql_property("name")[0].cql_property("given")
        assert [g.value for g in given] == ["A", "B"] and given[1].id == "g2"

    def test_primitive_with_only_an_extension(self) -> None:
        patient = FhirElement("Patient", {"_birthDate": {"extension": [{"url": "u"}]}})
        birth = patient.cql_property("birthDate")
        assert birth.value is None and len(birth.extension) == 1

    def test_numbers(self) -> None:
        q = FhirElement("Quantity", {"value": 0.1, "unit": "mg"})
        assert q.cql_property("value").value == Decimal("0.1")
        timing = FhirElement("Timing.Repeat", {"frequency": 2})
        assert timing.cql_property("frequency").value == 2
        assert timing.cql_property("frequency").fhir_type == "positiveInt"

    def test_retrieve_by_type_and_abstract_type(self) -> None:
        provider = FhirDataProvider(RESOURCES)
        assert len(provider.retrieve("MedicationStatement")) == 3
        assert provider.retrieve("Observation") == []
        assert len(provider.retrieve("DomainResource")) == len(RESOURCES)
        assert provider.retrieve("NoSuchType") == ()
        # The same objects every time: identity makes repeated retrieves cheap to compare.
        assert provider.retrieve("Patient")[0] is provider.retrieve("Patient")[0]

    def test_bundle_and_reference_resolution(self) -> None:
        bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in RESOURCES]}
        provider = FhirDataProvider.from_bundle(bundle)
        med = provider.resolve("Medication/med1")
        assert med is not None and med.fhir_type == "Medication"
        assert provider.resolve("http://server/fhir/Medication/med1") is med
        assert provider.resolve("Medication/missing") is None

    def test_input_dicts_are_not_modified(self) -> None:
        original = copy.deepcopy(RESOURCES)
        provider = FhirDataProvider(RESOURCES)
        provider.retrieve("MedicationStatement")[0].cql_property("effective")
        assert original == RESOURCES

    def test_model_hierarchy(self) -> None:
        model = fhir_model()
        assert model.is_subtype("positiveInt", "integer")
        assert model.is_subtype("MedicationStatement", "Resource")
        assert not model.is_subtype("Period", "Quantity")
        assert model.primitive_type("code") == "System.String"
        assert model.primitive_type("MedicationStatementStatus") == "System.String"
        assert model.primitive_type("Period") is None
        element = model.element("Observation", "value")
        assert element is not None and element.is_choice and "Quantity" in element.types


DATE_RANGE_LIB = """
library DateRange version '1.0.0'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1' called FHIRHelpers
parameter "Period" Interval<DateTime>
context Patient
define "In Period": [MedicationStatement]
define "Condition Onsets": [Condition]
"""


@needs_translator
def test_retrieve_date_range_filters_by_the_date_property() -> None:
    # The translator only emits date ranges with its date-range optimisation, so the test adds
    # them to the Retrieve nodes the way that optimisation writes them.
    elms = translate(DATE_RANGE_LIB)
    defs = {d["name"]: d for d in elms[0]["library"]["statements"]["def"]}
    for name, path in (("In Period", "effective"), ("Condition Onsets", "onset")):
        retrieve = defs[name]["expression"]
        retrieve["dateProperty"] = path
        retrieve["dateRange"] = {"type": "ParameterRef", "name": "Period"}
    engine = Engine.from_elm(elms)
    data = FhirDataProvider(RESOURCES)

    def ids(period: Interval, define: str = "In Period") -> list[str]:
        r = engine.evaluate("DateRange", data=data, now=NOW, parameters={"Period": period},
                            expressions=[define])
        return sorted(x["id"] for x in r[define])

    year_2024 = Interval(DateTime(2024, 1, 1, 0, 0, 0, 0, Decimal(0)),
                         DateTime(2025, 1, 1, 0, 0, 0, 0, Decimal(0)), True, False)
    assert ids(year_2024) == ["ms1", "ms3"]
    march = Interval(DateTime(2024, 4, 1, 0, 0, 0, 0, Decimal(0)),
                     DateTime(2024, 4, 30, 0, 0, 0, 0, Decimal(0)))
    assert ids(march) == ["ms1"]  # inside the Period of ms1
    open_start = Interval(None, DateTime(2023, 6, 1, 0, 0, 0, 0, Decimal(0)), True, True)
    assert ids(open_start) == ["ms2"]
    assert ids(year_2024, "Condition Onsets") == []
    assert ids(Interval(DateTime(2019, 1, 1), DateTime(2021, 1, 1)), "Condition Onsets") == ["c1"]


MODEL_INFO = (Path(__file__).resolve().parents[2] / "cql" / "node_modules" / "cql-exec-fhir"
              / "lib" / "modelInfos" / "fhir-modelinfo-4.0.1.xml")


@pytest.mark.skipif(not MODEL_INFO.exists(), reason="needs cql/node_modules (make setup-node)")
def test_committed_model_json_is_generated_from_the_model_info() -> None:
    from trd_cds.cql_tools import fhir_model_build

    committed = json.loads(resources.files("trd_cds.engine.fhir").joinpath(
        "data/fhir-4.0.1-model.json").read_text(encoding="utf-8"))
    assert fhir_model_build.build(MODEL_INFO.read_text(encoding="utf-8")) == committed


def test_fhir_primitives_compare_by_their_values() -> None:
    from trd_cds.engine.datatypes import values
    from trd_cds.engine.datatypes.temporal import Precision

    ten = FhirPrimitive("dateTime", DateTime(2024, 1, 1, 10))
    noon = FhirPrimitive("dateTime", DateTime(2024, 1, 1, 12))
    assert values.compare(ten, noon) == -1
    assert values.compare_at(ten, noon, Precision.DAY) == 0
    assert values.equal(FhirPrimitive("id", "a"), FhirPrimitive("string", "a")) is True
    assert values.equivalent(FhirPrimitive("code", "A"), FhirPrimitive("code", "a")) is True
