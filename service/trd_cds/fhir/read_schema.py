"""The elements the TRD rules read, by resource type, with their FHIR R4 types.

The fast check walks only these: an element the rules never read cannot change an
assessment, and strict mode (full fhir.resources validation) covers the rest.
"""

from __future__ import annotations

from typing import Union

# A schema maps element name → (type, is a list). A type is a primitive name of
# primitives.CHECKS or a nested schema.
Schema = dict[str, tuple[Union[str, "Schema"], bool]]

CODING: Schema = {
    "system": ("uri", False),
    "version": ("string", False),
    "code": ("code", False),
    "display": ("string", False),
    "userSelected": ("boolean", False),
}
CODEABLE_CONCEPT: Schema = {"coding": (CODING, True), "text": ("string", False)}
REFERENCE: Schema = {
    "reference": ("string", False),
    "type": ("uri", False),
    "display": ("string", False),
}
PERIOD: Schema = {"start": ("dateTime", False), "end": ("dateTime", False)}
QUANTITY: Schema = {
    "value": ("decimal", False),
    "comparator": ("code", False),
    "unit": ("string", False),
    "system": ("uri", False),
    "code": ("code", False),
}
RANGE: Schema = {"low": (QUANTITY, False), "high": (QUANTITY, False)}
TIMING_REPEAT: Schema = {
    "boundsPeriod": (PERIOD, False),
    "boundsDuration": (QUANTITY, False),
    "count": ("positiveInt", False),
    "duration": ("decimal", False),
    "durationUnit": ("code", False),
    "frequency": ("positiveInt", False),
    "frequencyMax": ("positiveInt", False),
    "period": ("decimal", False),
    "periodMax": ("decimal", False),
    "periodUnit": ("code", False),
}
TIMING: Schema = {
    "event": ("dateTime", True),
    "repeat": (TIMING_REPEAT, False),
    "code": (CODEABLE_CONCEPT, False),
}
DOSE_AND_RATE: Schema = {
    "type": (CODEABLE_CONCEPT, False),
    "doseQuantity": (QUANTITY, False),
    "doseRange": (RANGE, False),
}
DOSAGE: Schema = {
    "sequence": ("integer", False),
    "text": ("string", False),
    "timing": (TIMING, False),
    "asNeededBoolean": ("boolean", False),
    "doseAndRate": (DOSE_AND_RATE, True),
}
MEDICATION: Schema = {
    "medicationCodeableConcept": (CODEABLE_CONCEPT, False),
    "medicationReference": (REFERENCE, False),
}
COMMON: Schema = {"id": ("resource-id", False), "status": ("code", False)}

RESOURCE_SCHEMAS: dict[str, Schema] = {
    "Patient": {
        "id": ("resource-id", False),
        "birthDate": ("date", False),
        "gender": ("code", False),
        "deceasedBoolean": ("boolean", False),
        "deceasedDateTime": ("dateTime", False),
    },
    "Condition": {
        **COMMON,
        "subject": (REFERENCE, False),
        "code": (CODEABLE_CONCEPT, False),
        "category": (CODEABLE_CONCEPT, True),
        "clinicalStatus": (CODEABLE_CONCEPT, False),
        "verificationStatus": (CODEABLE_CONCEPT, False),
        "onsetDateTime": ("dateTime", False),
        "onsetPeriod": (PERIOD, False),
        "abatementDateTime": ("dateTime", False),
        "abatementPeriod": (PERIOD, False),
        "recordedDate": ("dateTime", False),
    },
    "MedicationStatement": {
        **COMMON,
        **MEDICATION,
        "subject": (REFERENCE, False),
        "effectiveDateTime": ("dateTime", False),
        "effectivePeriod": (PERIOD, False),
        "dateAsserted": ("dateTime", False),
        "statusReason": (CODEABLE_CONCEPT, True),
        "reasonCode": (CODEABLE_CONCEPT, True),
        "dosage": (DOSAGE, True),
    },
    "MedicationRequest": {
        **COMMON,
        **MEDICATION,
        "intent": ("code", False),
        "subject": (REFERENCE, False),
        "authoredOn": ("dateTime", False),
        "statusReason": (CODEABLE_CONCEPT, False),
        "reasonCode": (CODEABLE_CONCEPT, True),
        "dosageInstruction": (DOSAGE, True),
        "dispenseRequest": (
            {
                "validityPeriod": (PERIOD, False),
                "numberOfRepeatsAllowed": ("unsignedInt", False),
                "quantity": (QUANTITY, False),
                "expectedSupplyDuration": (QUANTITY, False),
            },
            False,
        ),
    },
    "MedicationDispense": {
        **COMMON,
        **MEDICATION,
        "subject": (REFERENCE, False),
        "whenPrepared": ("dateTime", False),
        "whenHandedOver": ("dateTime", False),
        "daysSupply": (QUANTITY, False),
        "quantity": (QUANTITY, False),
        "dosageInstruction": (DOSAGE, True),
    },
    "Observation": {
        **COMMON,
        "subject": (REFERENCE, False),
        "code": (CODEABLE_CONCEPT, False),
        "effectiveDateTime": ("dateTime", False),
        "effectivePeriod": (PERIOD, False),
        "effectiveInstant": ("instant", False),
        "issued": ("instant", False),
        "valueQuantity": (QUANTITY, False),
        "valueInteger": ("integer", False),
        "valueCodeableConcept": (CODEABLE_CONCEPT, False),
        "component": (
            {
                "code": (CODEABLE_CONCEPT, False),
                "valueQuantity": (QUANTITY, False),
                "valueInteger": ("integer", False),
                "valueCodeableConcept": (CODEABLE_CONCEPT, False),
            },
            True,
        ),
    },
    "Procedure": {
        **COMMON,
        "subject": (REFERENCE, False),
        "code": (CODEABLE_CONCEPT, False),
        "performedDateTime": ("dateTime", False),
        "performedPeriod": (PERIOD, False),
    },
}

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
    "MedicationStatement": ("medicationCodeableConcept", "medicationReference"),
    "MedicationRequest": ("medicationCodeableConcept", "medicationReference"),
    "MedicationDispense": ("medicationCodeableConcept", "medicationReference"),
}
