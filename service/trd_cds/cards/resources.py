"""FHIR R4 resources that card actions carry, built and validated through fhir.resources.

Everything the service writes into an EHR goes through the R4B models (identical to R4 for
these resources), so an invalid resource fails here rather than in the EHR.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"


_MODELS: dict[str, type[MedicationRequest] | type[ServiceRequest]] = {
    "MedicationRequest": MedicationRequest,
    "ServiceRequest": ServiceRequest,
}


@lru_cache(maxsize=4096)
def _validated_json(canonical: bytes) -> bytes:
    # Validation through the R4B models costs ~0.3 ms a resource and the same advice recurs on
    # every warm request, so each distinct resource is validated once.
    body = orjson.loads(canonical)
    model = _MODELS[body["resourceType"]].model_validate(body)
    return orjson.dumps(model.model_dump(mode="json", exclude_none=True))


def _valid(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as validated FHIR R4 JSON; a fresh dict each call, so callers may not share."""
    result: dict[str, Any] = orjson.loads(_validated_json(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)))
    return result


def _number(value: float | Decimal) -> int | float:
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def medication_request(
    *,
    patient_id: str | None,
    drug: str,
    rxcui: str | None,
    daily_dose: float | Decimal | None,
    unit: str,
    note: str | None = None,
    instruction: str | None = None,
    based_on: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A draft MedicationRequest for ``daily_dose`` once daily, or, without a dose, for the
    drug with a titration ``instruction``.

    ``based_on`` is the drafted order of ``drug`` being replaced (the caller found it by what
    the CQL read from its codes), so that an update keeps its id and identity fields (CDS
    Hooks requires the whole resource in an update). Without an RxNorm code the drafted
    order's own medication coding is kept: it codes the same drug.
    """
    body: dict[str, Any] = dict(based_on or {})
    if rxcui or not isinstance(body.get("medicationCodeableConcept"), dict):
        coding: dict[str, Any] = {"display": drug}
        if rxcui:
            coding.update(system=RXNORM, code=rxcui)
        body["medicationCodeableConcept"] = {"coding": [coding], "text": drug}
    dosage: dict[str, Any] = {"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}
    if daily_dose is not None:
        dose = _number(daily_dose)
        shown = "mcg" if unit == "ug" else unit
        dosage["text"] = f"{drug} {dose} {shown} once daily"
        dosage["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": shown, "system": UCUM,
                                                   "code": unit}}]
    else:
        dosage["text"] = f"{drug}: {instruction}" if instruction else drug
    body.update(
        resourceType="MedicationRequest",
        status="draft",
        intent=body.get("intent", "proposal"),
        dosageInstruction=[dosage],
    )
    body.pop("medicationReference", None)
    if patient_id and "subject" not in body:
        body["subject"] = {"reference": f"Patient/{patient_id}"}
    if note:
        body["note"] = [{"text": note}]
    return _valid(body)


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
    return _valid(body)
