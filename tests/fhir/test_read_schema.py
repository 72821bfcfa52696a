"""The fast check's schema is derived from the engine's FHIR model, not kept by hand."""

from __future__ import annotations

import pytest

from trd_cds.engine.fhir.model import fhir_model
from trd_cds.fhir import read_schema
from trd_cds.fhir.read_schema import RESOURCE_SCHEMAS, Schema, build_schema
from trd_cds.fhir.validate import check_resource


def _walk(schema: Schema, path: str) -> list[tuple[str, str, bool]]:
    found = []
    for name, (kind, is_list) in schema.items():
        if isinstance(kind, dict):
            found.append((f"{path}.{name}", "schema", is_list))
            found.extend(_walk(kind, f"{path}.{name}"))
        else:
            found.append((f"{path}.{name}", kind, is_list))
    return found


def test_types_and_repetition_come_from_the_model() -> None:
    elements = {p: (k, many) for r, s in RESOURCE_SCHEMAS.items() for p, k, many in _walk(s, r)}
    assert elements["MedicationRequest.intent"] == ("code", False)  # a code enumeration
    assert elements["MedicationRequest.dosageInstruction"] == ("schema", True)
    assert elements["MedicationRequest.dosageInstruction.timing.event"] == ("dateTime", True)
    assert elements["MedicationRequest.dispenseRequest.numberOfRepeatsAllowed"] == (
        "unsignedInt", False)
    assert elements["Observation.effectiveInstant"] == ("instant", False)
    assert elements["Observation.component"] == ("schema", True)
    assert elements["Condition.category"] == ("schema", True)
    # A SimpleQuantity (doseQuantity) and a Duration (boundsDuration) read as a Quantity.
    dose = "MedicationStatement.dosage.doseAndRate.doseQuantity"
    assert elements[f"{dose}.comparator"] == ("code", False)
    assert elements[f"{dose}.value"] == ("decimal", False)
    assert elements["MedicationStatement.dosage.timing.repeat.boundsDuration.unit"] == (
        "string", False)


def test_a_listed_element_the_model_lacks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(read_schema.READ, "Procedure", ("status", "performedString2"))
    with pytest.raises(ValueError, match=r"Procedure\.performedString2 is not an element of FHIR"):
        build_schema(fhir_model(), "Procedure")


def test_condition_status_is_not_an_r4_element_so_it_is_not_checked() -> None:
    # The hand-kept schema checked a Condition.status that R4 does not have.
    condition = {"resourceType": "Condition", "id": "c1", "status": 7,
                 "subject": {"reference": "Patient/p"}}
    check_resource(condition, "Bundle.entry[0].resource")
    assert "status" not in RESOURCE_SCHEMAS["Condition"]
