"""What the api layer needs from the rules and the cards, as interfaces injected at start-up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from trd_cds.cards.links import TimelineLaunch
from trd_cds.fhir.patient_data import PatientData

__all__ = ["CardBuilder", "CrisisSignal", "RulesEngine", "TimelineLaunch"]


class RulesEngine(Protocol):
    """The TRD rules, loaded once (ELM compiled) and then called per request."""

    @property
    def ruleset_version(self) -> str: ...

    def assess(self, patient: PatientData, as_of: date) -> dict[str, Any]:
        """The JSON-ready assessment of RULES.md §11; this is what the cache holds."""
        ...

    def check_orders(
        self, patient: PatientData, as_of: date, draft_orders: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Safety findings for drafted drugs (cheap, never cached)."""
        ...


class CardBuilder(Protocol):
    def __call__(
        self,
        assessment: dict[str, Any],
        *,
        hook: str,
        draft_orders: list[dict[str, Any]],
        order_findings: list[dict[str, Any]],
        patient_id: str | None = None,
        timeline: TimelineLaunch | None = None,
    ) -> list[dict[str, Any]]: ...


CrisisSignal = Callable[[PatientData, date], bool]
"""Crisis from the raw data alone (RULES.md §10): used when the assessment is unavailable."""
