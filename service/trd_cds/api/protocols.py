"""What the api layer needs from the rules and the cards, as interfaces injected at start-up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from trd_cds.assessment import Assessment, Details, OrderCheck
from trd_cds.cards.links import TimelineLaunch
from trd_cds.fhir.patient_data import PatientData

__all__ = ["CardBuilder", "CrisisSignal", "RulesEngine", "TimelineLaunch"]


class RulesEngine(Protocol):
    """The TRD rules, loaded once (ELM compiled) and then called per request."""

    @property
    def ruleset_version(self) -> str: ...

    def assess(self, patient: PatientData, as_of: date) -> Assessment:
        """The JSON-ready assessment of RULES.md §11; this is what the cache holds."""
        ...

    def check_orders(
        self, patient: PatientData, as_of: date, draft_orders: list[dict[str, Any]]
    ) -> OrderCheck:
        """Safety findings for drafted drugs, and what each draft orders (never cached)."""
        ...


class CardBuilder(Protocol):
    def __call__(
        self,
        assessment: Assessment,
        *,
        hook: str,
        draft_orders: list[dict[str, Any]],
        order_check: OrderCheck,
        patient_id: str | None = None,
        timeline: TimelineLaunch | None = None,
    ) -> list[dict[str, Any]]: ...


CrisisSignal = Callable[[PatientData, date], Details | None]
"""The crisis rule (RULES.md §10) on the raw data alone, for when the assessment is
unavailable: the crisis evidence as the details carry it, or None when there is no crisis."""
