"""The elements the TRD rules read, by resource type, with their FHIR R4 types.

The fast check walks only these: an element the rules never read cannot change an
assessment, and strict mode (full fhir.resources validation) covers the rest.

Which elements are read is chosen here, by hand (:data:`READ`); their types and whether they
repeat come from the FHIR model the CQL engine evaluates the rules against (the packaged
model info of the rules' ``using FHIR version``), so the two cannot disagree.
"""

from __future__ import annotations

from typing import Union

from trd_cds.engine.fhir.model import FhirModel, fhir_model

from .primitives import CHECKS

# A schema maps element name → (type, is a list). A type is a primitive name of
# primitives.CHECKS or a nested schema.
Schema = dict[str, tuple[Union[str, "Schema"], bool]]

_COMMON = ("id", "status")
_MEDICATION = ("medicationCodeableConcept", "medicationReference")

# JSON element names the rules read, by FHIR type (resources, data types and backbone
# elements). A type without an entry reads what its nearest base type lists (Duration and
# SimpleQuantity read as Quantity).
READ: dict[str, tuple[str, ...]] = {
    "Coding": ("system", "version", "code", "display", "userSelected"),
    "CodeableConcept": ("coding", "text"),
    "Reference": ("reference", "type", "display"),
    "Period": ("start", "end"),
    "Quantity": ("value", "comparator", "unit", "system", "code"),
    "Range": ("low", "high"),
    "Timing.Repeat": (
        "boundsPeriod", "boundsDuration", "count", "duration", "durationUnit",
        "frequency", "frequencyMax", "period", "periodMax", "periodUnit",
    ),
    "Timing": ("event", "repeat", "code"),
    "Dosage.DoseAndRate": ("type", "doseQuantity", "doseRange"),
    "Dosage": ("sequence", "text", "timing", "asNeededBoolean", "doseAndRate"),
    "MedicationRequest.DispenseRequest": (
        "validityPeriod", "numberOfRepeatsAllowed", "quantity", "expectedSupplyDuration",
    ),
    "Observation.Component": ("code", "valueQuantity", "valueInteger", "valueCodeableConcept"),
    "Patient": ("id", "birthDate", "gender", "deceasedBoolean", "deceasedDateTime"),
    # Condition has no status element in R4 (clinicalStatus and verificationStatus say it).
    "Condition": (
        "id", "subject", "code", "category", "clinicalStatus", "verificationStatus",
        "onsetDateTime", "onsetPeriod", "abatementDateTime", "abatementPeriod", "recordedDate",
    ),
    "MedicationStatement": (
        *_COMMON, *_MEDICATION, "subject", "effectiveDateTime", "effectivePeriod",
        "dateAsserted", "statusReason", "reasonCode", "dosage",
    ),
    "MedicationRequest": (
        *_COMMON, *_MEDICATION, "intent", "subject", "authoredOn", "statusReason",
        "reasonCode", "dosageInstruction", "dispenseRequest",
    ),
    "MedicationDispense": (
        *_COMMON, *_MEDICATION, "subject", "whenPrepared", "whenHandedOver", "daysSupply",
        "quantity", "dosageInstruction",
    ),
    "Observation": (
        *_COMMON, "subject", "code", "effectiveDateTime", "effectivePeriod", "effectiveInstant",
        "issued", "valueQuantity", "valueInteger", "valueCodeableConcept", "component",
    ),
    "Procedure": (*_COMMON, "subject", "code", "performedDateTime", "performedPeriod"),
}
RESOURCES = (
    "Patient", "Condition", "MedicationStatement", "MedicationRequest", "MedicationDispense",
    "Observation", "Procedure",
)

# Elements whose absence leaves the rules nothing to read.
REQUIRED: dict[str, tuple[str, ...]] = {
    "Condition": ("subject",),
    "MedicationStatement": ("status", "subject"),
    "MedicationRequest": ("status", "intent", "subject"),
    "MedicationDispense": ("status",),
    "Observation": ("status", "code"),
    "Procedure": ("status", "subject"),
}
# Choice elements [x] of which the rules need one.
ONE_OF: dict[str, tuple[str, ...]] = {
    "MedicationStatement": _MEDICATION,
    "MedicationRequest": _MEDICATION,
    "MedicationDispense": _MEDICATION,
}

# FHIR JSON names a choice element by the base type of a profile ('doseQuantity' for a
# SimpleQuantity).
_JSON_SUFFIX = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}


def _suffix(type_name: str) -> str:
    name = _JSON_SUFFIX.get(type_name, type_name)
    return name[0].upper() + name[1:]


def _element(model: FhirModel, owner: str, json_name: str) -> tuple[str, bool]:
    """(FHIR type, is a list) of the JSON element ``json_name`` of ``owner``, choices included."""
    declared = model.element(owner, json_name)
    if declared is not None and not declared.is_choice:
        return declared.types[0], declared.is_list
    for name in model.element_names(owner):
        if not json_name.startswith(name):
            continue
        choice = model.element(owner, name)
        if choice is None or not choice.is_choice:
            continue
        for option in choice.types:
            if name + _suffix(option) == json_name:
                return option, choice.is_list
    raise ValueError(f"{owner}.{json_name} is not an element of FHIR {model.version}")


def _primitive(model: FhirModel, type_name: str) -> str | None:
    """The primitives.CHECKS name that checks values of ``type_name`` (None if not primitive).

    Code enumerations ('MedicationRequestStatus') are codes; a specialised primitive without
    its own check is checked as its nearest base type ('markdown' as 'string').
    """
    if model.primitive_type(type_name) is None:
        return None
    current: str | None = type_name
    while current is not None:
        if current in CHECKS:
            return current
        current = model.base(current)
    return "code" if model.primitive_type(type_name) == "System.String" else None


def _read_names(model: FhirModel, type_name: str) -> tuple[str, ...]:
    current: str | None = type_name
    while current is not None:
        if current in READ:
            return READ[current]
        current = model.base(current)
    raise ValueError(f"READ lists no elements for FHIR type {type_name}")


def build_schema(model: FhirModel, type_name: str) -> Schema:
    """The schema of the elements :data:`READ` lists for ``type_name``, typed by ``model``."""
    schema: Schema = {}
    for name in _read_names(model, type_name):
        element_type, is_list = _element(model, type_name, name)
        primitive = _primitive(model, element_type)
        if primitive is None and model.primitive_type(element_type) is not None:
            raise ValueError(f"no check for the FHIR primitive {element_type}")
        schema[name] = (primitive or build_schema(model, element_type), is_list)
    return schema


def _resource_schema(model: FhirModel, name: str) -> Schema:
    schema = build_schema(model, name)
    # A resource's own id is checked by the looser "resource-id": EHRs exceed FHIR's 64
    # characters, which is a warning, not a reason to refuse data the rules never compare.
    schema["id"] = ("resource-id", False)
    return schema


RESOURCE_SCHEMAS: dict[str, Schema] = {
    name: _resource_schema(fhir_model(), name) for name in RESOURCES
}
