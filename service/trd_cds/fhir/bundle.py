"""From request bytes to one patient's resources: size, JSON, depth, Bundle shape, one patient."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .data_quality import ACCEPTED, LONG_ID, NOT_READ, OTHER_PATIENT, Finding, finding, sort_key
from .empty_elements import may_hold_empty, tolerate, too_deep
from .outcome import FhirInputError
from .patient_data import PatientData
from .validate import FHIR_ID_LENGTH, READ_TYPES, check_resources

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class InputLimits:
    max_bytes: int = 5 * MB
    max_entries: int = 5_000
    max_depth: int = 64
    strict: bool = False


def parse_json(body: bytes, limits: InputLimits) -> Any:
    """Parse with orjson under the size limit (orjson itself stops at 1024 levels)."""
    if len(body) > limits.max_bytes:
        raise FhirInputError.of(413, f"body exceeds {limits.max_bytes} bytes", code="too-costly")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):
            raise FhirInputError.of(413, "JSON nested too deeply", code="too-costly") from None
        raise FhirInputError.of(400, "body is not valid JSON", code="structure") from None


def load_json(body: bytes, limits: InputLimits) -> Any:
    """Parse and bound the nesting: a hostile body must not cost more than its size."""
    document = parse_json(body, limits)
    check_depth(body, limits.max_depth)
    return document


def _encoded(value: Any, limits: InputLimits) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # past orjson's own recursion limit
        raise too_deep(limits.max_depth) from None


def _check_nesting(value: Any, depth: int, max_depth: int) -> None:
    """Refuse `value` (an object or array at `depth`) when it nests deeper than `max_depth`;
    the recursion ends there, so it is bounded by `max_depth`."""
    if depth > max_depth:
        raise too_deep(max_depth)
    for child in value.values() if type(value) is dict else value:
        if type(child) is dict or type(child) is list:
            _check_nesting(child, depth + 1, max_depth)


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
            raise too_deep(max_depth)
        brackets = brackets.replace(b"[]", b"")


def _entry_list(document: Any, limits: InputLimits) -> list[Any]:
    """The entry array of a Bundle, within the entry limit."""
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise FhirInputError.of(400, "Bundle is not a FHIR Bundle", code="structure")
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        raise FhirInputError.of(
            400, "Bundle.entry must be an array", code="structure", expression="Bundle.entry"
        )
    if len(entries) > limits.max_entries:
        raise FhirInputError.of(
            413, f"Bundle has more than {limits.max_entries} entries", code="too-costly"
        )
    return entries


_PATIENT_REF = re.compile(r"(?:.*/)?Patient/([^/]+)(?:/_history/.*)?")


def _patient_identity(reference: str, aliases: dict[str, str]) -> str:
    if reference in aliases:
        return aliases[reference]
    if "Patient/" not in reference:
        return reference
    match = _PATIENT_REF.fullmatch(reference)
    return f"Patient/{match.group(1)}" if match else reference


class _Survey:
    """What one look at each resource tells: the resources by type, the Patients, and the
    distinct references to patients (most entries repeat one), resolved at the end once every
    Patient entry's fullUrl is known. One pass: each pass over hundreds of freshly parsed
    resources costs about 0.1 ms in memory traffic alone."""

    __slots__ = ("aliases", "by_type", "found", "patients", "references", "unread_references")

    def __init__(self) -> None:
        self.by_type: dict[str, list[dict[str, Any]]] = {}
        self.patients: set[str] = set()
        self.aliases: dict[str, str] = {}
        self.references: set[str] = set()
        # Patient references of resources the rules never read: (reference, resource, element,
        # where the resource is in the request).
        self.unread_references: list[tuple[str, dict[str, Any], str, str]] = []
        # Tolerated input problems found here, with where each is in the request.
        self.found: list[tuple[Finding, str]] = []

    def add(
        self, full_url: str | None, resource: dict[str, Any], resource_type: str, where: str = ""
    ) -> None:
        group = self.by_type.get(resource_type)
        if group is None:
            self.by_type[resource_type] = [resource]
        else:
            group.append(resource)
        if resource_type == "Patient":
            identity = (
                f"Patient/{resource.get('id')}" if resource.get("id") else (full_url or "Patient/?")
            )
            self.patients.add(identity)
            if full_url:
                self.aliases[full_url] = identity
        ident = resource.get("id")
        if type(ident) is str and len(ident) > FHIR_ID_LENGTH:
            self.found.append((finding(resource, ".id", LONG_ID, ACCEPTED), f"{where}.id"))
        read = resource_type in READ_TYPES
        for element in ("subject", "patient"):
            value = resource.get(element)
            if type(value) is dict and type(reference := value.get("reference")) is str:
                if read:
                    self.references.add(reference)
                else:
                    self.unread_references.append((reference, resource, element, where))

    def check_one_patient(self, expected_patient_id: str | None, strict: bool = False) -> None:
        """400 when the data the rules read is about more than one patient. A resource the
        rules never read (a ServiceRequest naming another patient by absolute URL) is only a
        warning, unless validation is strict."""
        referenced = {
            identity
            for identity in (_patient_identity(r, self.aliases) for r in self.references)
            if identity.startswith(("Patient/", "urn:"))
        }
        everyone = self.patients | referenced
        if expected_patient_id is not None:
            everyone.add(f"Patient/{expected_patient_id}")
        if len(everyone) > 1:
            raise FhirInputError.of(
                400, "the data is about more than one patient", code="invariant"
            )
        for reference, resource, element, where in self.unread_references:
            identity = _patient_identity(reference, self.aliases)
            if identity.startswith(("Patient/", "urn:")) and identity not in everyone:
                if strict or not everyone:
                    raise FhirInputError.of(
                        400, "the data is about more than one patient", code="invariant"
                    )
                self.found.append(
                    (finding(resource, f".{element}", OTHER_PATIENT, NOT_READ), f"{where}.{element}")
                )


def _survey(entries: Iterable[tuple[str, str | None, dict[str, Any]]]) -> _Survey:
    survey = _Survey()
    for path, full_url, resource in entries:
        survey.add(full_url, resource, str(resource["resourceType"]), path)
    return survey


def check_one_patient(
    entries: Iterable[tuple[str, str | None, dict[str, Any]]],
    *,
    expected_patient_id: str | None = None,
) -> None:
    """400 when the data is about more than one patient (or not about `expected_patient_id`)."""
    _survey(entries).check_one_patient(expected_patient_id)


class _Tolerance:
    """Drops the empty elements of the resources (unless validation is strict) and keeps the
    findings, each with where it is in the request."""

    __slots__ = ("found", "max_depth", "on")

    def __init__(self, limits: InputLimits, on: bool = True) -> None:
        self.on = on and not limits.strict
        self.max_depth = limits.max_depth
        self.found: list[tuple[Finding, str]] = []

    def apply(self, resource: dict[str, Any], path: str, depth: int) -> dict[str, Any]:
        """`resource` (at `path` in the request, nested `depth` levels deep) without its empty
        elements; the same object when it has none."""
        if not self.on:
            return resource
        cleaned, found = tolerate(resource, depth=depth, max_depth=self.max_depth)
        self.found.extend((item, path + where) for item, where in found)
        return cleaned

    def findings(self) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
        ordered = sorted(self.found, key=lambda pair: (sort_key(pair[0]), pair[1]))
        return tuple(f for f, _ in ordered), tuple(where for _, where in ordered)


Validator = Callable[[], None]
"""Checks the resources the rules read (422) and, for a Bundle, how deep they nest (413).
Deferred to the cache-miss path: a cache hit means the same resources (same canonical hash)
passed it before."""


# A resource in a Bundle sits at depth 4: Bundle object, entry array, entry object, resource.
_RESOURCE_DEPTH = 4


def read_bundle(body: bytes, limits: InputLimits) -> tuple[PatientData, Validator]:
    """Bytes of a FHIR R4 Bundle about one patient → its data, and the validation still due.

    The nesting bound applies at once to the Bundle's own elements; the resources' depth is
    checked with the rest of their validation, on a cache miss (a hit means these resources
    passed it before). Until then nothing walks them but orjson, in C, which stops at 1024
    levels when parsing and 254 when encoding the cache key.
    """
    document = parse_json(body, limits)
    entries = _entry_list(document, limits)
    max_depth = limits.max_depth
    for key, value in document.items():
        if key != "entry" and (type(value) is dict or type(value) is list):
            _check_nesting(value, 2, max_depth)
    survey = _Survey()
    tolerance = _Tolerance(limits, on=may_hold_empty(body))
    resources: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if type(entry) is dict else None
        if type(resource) is not dict or type(kind := resource.get("resourceType")) is not str:
            where = f"Bundle.entry[{index}].resource"
            raise FhirInputError.of(
                422, f"{where} must be a FHIR resource", code="structure", expression=where
            )
        if tolerance.on:
            resource = tolerance.apply(resource, f"Bundle.entry[{index}].resource", _RESOURCE_DEPTH)
        full_url = entry.get("fullUrl")
        if len(entry) > 1 + (type(full_url) is str):
            # search, request, response ...: the entry's own elements.
            for key, value in entry.items():
                if key != "resource" and (type(value) is dict or type(value) is list):
                    _check_nesting(value, _RESOURCE_DEPTH, max_depth)
        survey.add(
            full_url if type(full_url) is str else None, resource, kind, f"Bundle.entry[{index}].resource"
        )
        resources.append(resource)
    return _patient_data(
        resources,
        survey,
        limits,
        lambda i: f"Bundle.entry[{i}].resource",
        tolerance,
        resource_depth=_RESOURCE_DEPTH,
    )


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
    may_hold_empty: bool = True,
) -> tuple[PatientData, Validator]:
    """(element path, fullUrl, resource) entries → one patient's data and its validation.

    The entries' JSON nesting must have been bounded already. ``may_hold_empty`` False: the
    caller knows that no resource holds an empty element (no need to look)."""
    tolerance = _Tolerance(limits, on=may_hold_empty)
    if tolerance.on:
        entries = [
            (path, full_url, tolerance.apply(resource, path, 1))
            for path, full_url, resource in entries
        ]
    return _patient_data(
        [resource for _, _, resource in entries],
        _survey(entries),
        limits,
        lambda i: entries[i][0],
        tolerance,
        expected_patient_id=expected_patient_id,
        require_patient=require_patient,
    )


def _patient_data(
    resources: list[dict[str, Any]],
    survey: _Survey,
    limits: InputLimits,
    path_of: Callable[[int], str],
    tolerance: _Tolerance,
    *,
    expected_patient_id: str | None = None,
    require_patient: bool = True,
    resource_depth: int | None = None,
) -> tuple[PatientData, Validator]:
    """``resource_depth``: the depth at which the resources sit when their nesting is still to
    be checked (None when the whole body was)."""
    if require_patient and "Patient" not in survey.by_type:
        raise FhirInputError.of(400, "the Bundle has no Patient resource", code="required")
    survey.check_one_patient(expected_patient_id, strict=limits.strict)
    tolerance.found.extend(survey.found)

    def validate() -> None:
        if resource_depth is not None:
            # In a JSON array the resources sit at depth 2: shift the bound to match.
            check_depth(_encoded(resources, limits), limits.max_depth - resource_depth + 2)
        pairs = [(path_of(i), resource) for i, resource in enumerate(resources)]
        check_resources(pairs, strict=limits.strict)

    findings, where = tolerance.findings()
    return PatientData(tuple(resources), survey.by_type, findings, where), validate
