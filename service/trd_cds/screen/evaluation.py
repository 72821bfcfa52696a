"""One patient's Bundle → the assessment of ``/evaluate``, or the OperationOutcome it would
answer with. The rules are loaded once per process (a pool worker, a Spark executor's Python
worker) and kept for every patient that process evaluates."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from trd_cds.fhir.bundle import InputLimits, parse_bundle
from trd_cds.fhir.outcome import FhirInputError, Issue, operation_outcome
from trd_cds.settings import Settings

log = logging.getLogger(__name__)

ASSESSMENT = "assessment"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class Result:
    """``kind`` ASSESSMENT or ERROR; ``line`` the JSON line written for it."""

    patient: str
    kind: str
    line: bytes


class PatientEvaluator:
    """The rules and input limits of the service, as `trd-cds evaluate` has them: read from
    the same ``TRD_`` settings (``TRD_RULES_PARAMETERS`` included)."""

    def __init__(self, as_of: date, settings: Settings | None = None) -> None:
        from trd_cds.app import load_rules  # the slow part: compiles the ELM

        settings = settings or Settings(auth_required=False)
        self.as_of = as_of
        self.rules: Any = load_rules(settings)
        self.limits = InputLimits(
            max_bytes=settings.max_body_bytes,
            max_entries=settings.max_entries,
            max_depth=settings.max_json_depth,
            strict=settings.strict_validation,
        )

    @property
    def ruleset_version(self) -> str:
        return str(self.rules.ruleset_version)

    def assessment(self, bundle: bytes) -> dict[str, Any]:
        """The assessment; FhirInputError as `/evaluate` raises it."""
        patient = parse_bundle(bundle, self.limits)
        result: dict[str, Any] = self.rules.assess(patient, self.as_of)
        return result

    def evaluate(self, patient: str, bundle: bytes) -> Result:
        try:
            assessment = self.assessment(bundle)
        except FhirInputError as exc:
            return _error(patient, exc.outcome())
        except Exception as exc:
            # One patient the rules fail on must not end the run; the type tells what to fix.
            log.error("evaluation failed: %s", type(exc).__name__)
            return _error(patient, operation_outcome(
                Issue(f"evaluation failed ({type(exc).__name__})", code="exception")))
        return Result(patient, ASSESSMENT,
                      orjson.dumps({"patient": patient, "assessment": assessment}))


def _error(patient: str, outcome: dict[str, Any]) -> Result:
    return Result(patient, ERROR, orjson.dumps({"patient": patient, "outcome": outcome}))


_LOADED: dict[date, PatientEvaluator] = {}


def process_evaluator(as_of: date) -> PatientEvaluator:
    """This process's evaluator for ``as_of``, loaded on first use."""
    evaluator = _LOADED.get(as_of)
    if evaluator is None:
        evaluator = _LOADED[as_of] = PatientEvaluator(as_of)
    return evaluator
