"""From request bytes to one patient's resources: size, JSON, depth, Bundle shape, one patient."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .outcome import FhirInputError
from .patient_data import PatientData
from .validate import check_resources

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class InputLimits:
    max_bytes: int = 5 * MB
    max_entries: int = 5_000
    max_depth: int = 64
    strict: bool = False


def load_json(body: bytes, limits: InputLimits) -> Any:
    """Parse with orjson and bound the nesting: a hostile body must not cost more than its size."""
    if len(body) > limits.max_bytes:
        raise FhirInputError.of(413, f"body exceeds {limits.max_bytes} bytes", code="too-costly")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):
            raise FhirInputError.of(413, "JSON nested too deeply", code="too-costly") from None
        raise FhirInputError.of(400, "body is not valid JSON", code="structure") from None
    check_depth(body, limits.max_depth)
    return document


# Kept: quotes and brackets; `{}` become `[]` (valid JSON nests them properly, so their kind
# does not change the depth, and one kind peels with a plain replace).
_SKELETON = bytes.maketrans(b"{}", b"[]")
_NOT_SKELETON = bytes(c for c in range(256) if c not in b'[]{}"')


def check_depth(body: bytes, max_depth: int) -> None:
    """Refuse JSON nested deeper than `max_depth`, measured on the bytes at C speed.

    Called after orjson accepted the body, so it is valid JSON. Escaped backslashes and
    quotes are dropped first (an escaped quote must not end a string; scanning left to right
    meets every escape at its own backslash), then everything but brackets and quotes, then
    the strings (every other piece between quotes: they may have held brackets). Innermost
    pairs are then peeled off one level per pass; the number of passes is the depth.
    """
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = body.translate(_SKELETON, delete=_NOT_SKELETON)
    # Usually no string holds a bracket, and each string is left as an adjacent pair of
    # quotes. Removed left to right, pairs are consumed as (1st, 2nd), (3rd, 4th) ... only
    # while each is adjacent, so no quote is left exactly when every string was empty.
    brackets = skeleton.replace(b'""', b"")
    if b'"' in brackets:
        brackets = b"".join(skeleton.split(b'"')[0::2])
    depth = 0
    while brackets:
        depth += 1
        if depth > max_depth:
            raise FhirInputError.of(
                413, f"JSON nested deeper than {max_depth} levels", code="too-costly"
            )
        brackets = brackets.replace(b"[]", b"")


def bundle_entries(
    document: Any, limits: InputLimits, *, path: str = "Bundle"
) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(element path, fullUrl, resource) of every entry of a Bundle."""
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise FhirInputError.of(400, f"{path} is not a FHIR Bundle", code="structure")
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        raise FhirInputError.of(
            400, f"{path}.entry must be an array", code="structure", expression=f"{path}.entry"
        )
    if len(entries) > limits.max_entries:
        raise FhirInputError.of(
            413, f"{path} has more than {limits.max_entries} entries", code="too-costly"
        )
    found: list[tuple[str, str | None, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if type(entry) is dict else None
        if type(resource) is not dict or type(resource.get("resourceType")) is not str:
            where = f"{path}.entry[{index}].resource"
            raise FhirInputError.of(
                422, f"{where} must be a FHIR resource", code="structure", expression=where
            )
        full_url = entry.get("fullUrl")
        found.append(
            (
                f"{path}.entry[{index}].resource",
                full_url if type(full_url) is str else None,
                resource,
            )
        )
    return found


_PATIENT_REF = re.compile(r"(?:.*/)?Patient/([^/]+)(?:/_history/.*)?")


def _patient_identity(reference: str, aliases: dict[str, str]) -> str:
    if reference in aliases:
        return aliases[reference]
    if "Patient/" not in reference:
        return reference
    match = _PATIENT_REF.fullmatch(reference)
    return f"Patient/{match.group(1)}" if match else reference


def check_one_patient(
    entries: Iterable[tuple[str, str | None, dict[str, Any]]],
    *,
    expected_patient_id: str | None = None,
) -> None:
    """400 when the data is about more than one patient (or not about `expected_patient_id`)."""
    aliases: dict[str, str] = {}
    patients: set[str] = set()
    # One pass collecting the distinct references (most entries repeat one); they are
    # resolved afterwards, once every Patient entry's fullUrl is known.
    references: set[str] = set()
    for _, full_url, resource in entries:
        if resource["resourceType"] == "Patient":
            identity = (
                f"Patient/{resource.get('id')}" if resource.get("id") else (full_url or "Patient/?")
            )
            patients.add(identity)
            if full_url:
                aliases[full_url] = identity
        subject = resource.get("subject")
        if type(subject) is dict and type(reference := subject.get("reference")) is str:
            references.add(reference)
        patient = resource.get("patient")
        if type(patient) is dict and type(reference := patient.get("reference")) is str:
            references.add(reference)
    referenced = {
        identity
        for identity in (_patient_identity(r, aliases) for r in references)
        if identity.startswith(("Patient/", "urn:"))
    }
    everyone = patients | referenced
    if expected_patient_id is not None:
        everyone.add(f"Patient/{expected_patient_id}")
    if len(everyone) > 1:
        raise FhirInputError.of(400, "the data is about more than one patient", code="invariant")


Validator = Callable[[], None]
"""Checks the resources the rules read; raises FhirInputError(422). Deferred to the cache-miss
path: a cache hit means these very bytes (same canonical hash) were validated before."""


def read_bundle(body: bytes, limits: InputLimits) -> tuple[PatientData, Validator]:
    """Bytes of a FHIR R4 Bundle about one patient → its data, and the validation still due."""
    document = load_json(body, limits)
    entries = bundle_entries(document, limits)
    return patient_data_from_entries(entries, limits)


def parse_bundle(body: bytes, limits: InputLimits) -> PatientData:
    """`read_bundle` with the validation done at once."""
    patient, validate = read_bundle(body, limits)
    validate()
    return patient


def patient_data_from_entries(
    entries: list[tuple[str, str | None, dict[str, Any]]],
    limits: InputLimits,
    *,
    expected_patient_id: str | None = None,
    require_patient: bool = True,
) -> tuple[PatientData, Validator]:
    patient = PatientData.of([resource for _, _, resource in entries])
    if require_patient and patient.patient is None:
        raise FhirInputError.of(400, "the Bundle has no Patient resource", code="required")
    check_one_patient(entries, expected_patient_id=expected_patient_id)

    def validate() -> None:
        check_resources([(path, resource) for path, _, resource in entries], strict=limits.strict)

    return patient, validate
