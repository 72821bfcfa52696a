"""One patient's FHIR data as the rules see it: plain JSON dicts grouped by resource type."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .data_quality import Finding


@dataclass(frozen=True, slots=True)
class PatientData:
    """Resources of one patient, as parsed from a Bundle or a CDS Hooks prefetch.

    Resources are kept as the JSON dicts they arrived as: the CQL engine's FHIR provider reads
    them directly, and the canonical cache key is computed from them.

    ``findings``: what was wrong with the input and tolerated (an empty element dropped from
    ``resources``), in a stable order; part of the cache key. ``finding_locations``: where
    each finding is in the request (``Bundle.entry[2].resource.dosage[0].doseAndRate``), in
    the same order; specific to one request, so not part of the key.
    """

    resources: tuple[dict[str, Any], ...]
    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    finding_locations: tuple[str, ...] = ()

    @classmethod
    def of(cls, resources: Iterable[dict[str, Any]]) -> PatientData:
        kept = tuple(resources)
        grouped: dict[str, list[dict[str, Any]]] = {}
        for resource in kept:
            grouped.setdefault(str(resource.get("resourceType")), []).append(resource)
        return cls(kept, grouped)

    @property
    def patient(self) -> dict[str, Any] | None:
        patients = self.by_type.get("Patient", [])
        return patients[0] if patients else None
