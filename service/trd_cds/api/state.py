"""What the lifespan owns, reachable from every route through `request.app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from trd_cds.cache.base import ResultCache
from trd_cds.cache.feedback_store import FeedbackStore
from trd_cds.fhir.bundle import InputLimits
from trd_cds.fhir.client import FhirClient
from trd_cds.fhir.client_policy import FhirServerPolicy
from trd_cds.settings import Settings

from .evaluation import Evaluator
from .metrics import Metrics


@dataclass(slots=True)
class Services:
    settings: Settings
    limits: InputLimits
    metrics: Metrics
    evaluator: Evaluator
    cache: ResultCache
    feedback: FeedbackStore
    fhir_client: FhirClient | None = None
    fhir_policy: FhirServerPolicy = field(default_factory=FhirServerPolicy)
    not_ready_reason: str | None = "starting"
    # Set when the service cannot accept anyone (authentication required but not configured).
    config_problem: str | None = None


def services(request: Request) -> Services:
    found = request.app.state.services
    assert isinstance(found, Services)
    return found
