"""FHIR R4 resources that card actions carry, built and validated through fhir.resources.

Everything the service writes into an EHR goes through the R4B models (identical to R4 for
these resources), so an invalid resource fails here rather than in the EHR.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"


def _number(value: float | Decimal) -> int | float:
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def medication_request(
    *,
    patient_id: str | None,
    drug: str,
    rxcui: str | None,
    daily_dose: float | Decimal,
    unit: str,
    note: str | None = None,
    based_on: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A draft MedicationRequest for ``daily_dose`` once daily.

    ``based_on`` is the drafted order being replaced, so that an update keeps its id and
    identity fields (CDS Hooks requires the whole resource in an update).
    """
    dose = _number(daily_dose)
    coding: dict[str, Any] = {"display": drug}
    if rxcui:
        coding.update(system=RXNORM, code=rxcui)
    body: dict[str, Any] = dict(based_on or {})
    body.update(
        resourceType="MedicationRequest",
        status="draft",
        intent=body.get("intent", "proposal"),
        medicationCodeableConcept={"coding": [coding], "text": drug},
        dosageInstruction=[{
            "text": f"{drug} {dose} {unit} once daily",
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit, "system": UCUM,
                                              "code": unit}}],
        }],
    )
    body.pop("medicationReference", None)
    if patient_id and "subject" not in body:
        body["subject"] = {"reference": f"Patient/{patient_id}"}
    if note:
        body["note"] = [{"text": note}]
    return MedicationRequest.model_validate(body).model_dump(mode="json", exclude_none=True)


def service_request(
    *,
    patient_id: str,
    display: str,
    coding: tuple[str, str] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """A draft referral (ServiceRequest); ``coding`` is (system, code) when a verified code
    exists, otherwise the request carries text only rather than an unverified code."""
    code: dict[str, Any] = {"text": display}
    if coding is not None:
        code["coding"] = [{"system": coding[0], "code": coding[1], "display": display}]
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": code,
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if note:
        body["note"] = [{"text": note}]
    return ServiceRequest.model_validate(body).model_dump(mode="json", exclude_none=True)
