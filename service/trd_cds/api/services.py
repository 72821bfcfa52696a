"""The CDS services this service offers, as announced by discovery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trd_cds.fhir.prefetch import PREFETCH_TEMPLATES

_USAGE = (
    "Adults with a major depressive disorder diagnosis. Needs the patient's antidepressant "
    "history (MedicationStatement and/or MedicationRequest), with doses, and PHQ-9 scores "
    "for outcome. Prefetch every key, or send fhirServer with fhirAuthorization (patient/*.read "
    "scopes) so that missing keys can be fetched."
)


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    needs_draft_orders: bool = False
    needs_selections: bool = False

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "usageRequirements": _USAGE,
            "prefetch": dict(PREFETCH_TEMPLATES),
        }


SERVICES: dict[str, ServiceDefinition] = {
    s.id: s
    for s in (
        ServiceDefinition(
            id="trd-patient-view",
            hook="patient-view",
            title="Treatment-resistant depression review",
            description=(
                "Reviews the antidepressant trials of the current depressive episode for "
                "adequacy (dose, duration, adherence), stages treatment resistance and suggests "
                "dose optimisation, augmentation or a switch; flags a suicide-risk signal first."
            ),
        ),
        ServiceDefinition(
            id="trd-order-select",
            hook="order-select",
            title="Antidepressant order check (selection)",
            description=(
                "When an antidepressant or augmentation agent is selected, checks it against the "
                "treatment history and safety rules (MAOI interactions and washout, seizure "
                "risk, dose limits by age) and places it in the TRD pathway."
            ),
            needs_draft_orders=True,
            needs_selections=True,
        ),
        ServiceDefinition(
            id="trd-order-sign",
            hook="order-sign",
            title="Antidepressant order check (signing)",
            description=(
                "Before antidepressant orders are signed, re-checks every drafted order against "
                "the safety rules and the treatment history."
            ),
            needs_draft_orders=True,
        ),
    )
}


def discovery_document() -> dict[str, Any]:
    return {"services": [service.discovery() for service in SERVICES.values()]}
