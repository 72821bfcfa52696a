"""What a resource of an export says about where it belongs: its patient and the Medications
it references. Pure functions over parsed JSON, shared by the local and the Spark runner."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# `Patient/x`, an absolute `https://host/fhir/Patient/x`, a versioned `Patient/x/_history/2`.
_TYPED = re.compile(r"(?:.*/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/.*)?")
_URN = "urn:uuid:"

# The elements that name a resource's patient, in the order they are looked at.
_PATIENT_ELEMENTS = ("subject", "patient", "beneficiary")


def reference_id(reference: str, aliases: Mapping[str, str] | None = None) -> str | None:
    """The id a reference points at: `Patient/x` → x, `urn:uuid:x` → x (Bulk exports that use
    uuid references give the resource that uuid as its id), or what a Bundle's fullUrl names."""
    if aliases and reference in aliases:
        return aliases[reference]
    if reference.startswith(_URN):
        return reference[len(_URN):] or None
    match = _TYPED.fullmatch(reference)
    return match.group("id") if match else None


def reference_type(reference: str) -> str | None:
    match = _TYPED.fullmatch(reference)
    return match.group("type") if match else None


def patient_key(resource: Mapping[str, Any], aliases: Mapping[str, str] | None = None) -> str | None:
    """The id of the patient a resource belongs to; None when it names none (a Medication,
    an Organization) or names it in a way no patient can be found by."""
    if resource.get("resourceType") == "Patient":
        ident = resource.get("id")
        return ident if isinstance(ident, str) and ident else None
    for element in _PATIENT_ELEMENTS:
        value = resource.get(element)
        if isinstance(value, dict) and isinstance(reference := value.get("reference"), str):
            if reference_type(reference) not in (None, "Patient"):
                continue  # a Group or Location subject: not a patient's record
            return reference_id(reference, aliases)
    return None


def medication_references(resource: Mapping[str, Any]) -> list[str]:
    """References of medication[x] to Medication resources outside the resource itself
    (contained ones, `#id`, travel with it)."""
    value = resource.get("medicationReference")
    if not isinstance(value, dict):
        return []
    reference = value.get("reference")
    if not isinstance(reference, str) or not reference or reference.startswith("#"):
        return []
    return [reference]


def medication_key(reference: str) -> str | None:
    """The id of the Medication a reference names, the key Medications are stored under."""
    kind = reference_type(reference)
    if kind not in (None, "Medication"):
        return None
    return reference_id(reference)
