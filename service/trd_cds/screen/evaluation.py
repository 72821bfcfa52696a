"""One patient's Bundle → the assessment ``/evaluate`` answers with, or the OperationOutcome
it would refuse with. The evaluation is the service's own (``evaluation_answer``: the rules,
the crisis rule, the cards), put together once per process (a pool worker, a Spark
executor's Python worker) and kept for every patient that process evaluates."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import cast

import orjson

from trd_cds.api.evaluation import AssessmentUnavailable, Evaluator, evaluation_answer
from trd_cds.api.metrics import Metrics
from trd_cds.assessment import Assessment
from trd_cds.fhir.bundle import InputLimits, parse_bundle
from trd_cds.fhir.outcome import FhirInputError, Issue, operation_outcome
from trd_cds.settings import Settings
from trd_cds.wiring import input_limits, load_rules, make_evaluator, memory_cache

ASSESSMENT = "assessment"
ERROR = "error"

# Nobody waits on a screen's answer, so the service's budget (answer from the crisis rule
# alone when the rules run late) does not apply: a loaded machine must not turn assessments
# into degraded ones. A population has no repeats, so the cache only needs to exist.
_SCREEN_SETTINGS = {"evaluation_timeout_seconds": 3600.0, "cache_max_entries": 16}


@dataclass(frozen=True, slots=True)
class Result:
    """``kind`` ASSESSMENT or ERROR; ``line`` the JSON line written for it."""

    patient: str
    kind: str
    line: bytes


class PatientEvaluator:
    """The service's evaluation, with its ``TRD_`` settings (``TRD_RULES_PARAMETERS`` and
    the input limits included), as `trd-cds evaluate` has it."""

    def __init__(self, as_of: date, settings: Settings | None = None) -> None:
        settings = settings or Settings(**_SCREEN_SETTINGS)  # type: ignore[arg-type]
        self.as_of = as_of
        self.limits: InputLimits = input_limits(settings)
        metrics = Metrics()
        self._evaluator: Evaluator = make_evaluator(settings, memory_cache(settings, metrics),
                                                    metrics)
        self._evaluator.rules = load_rules(settings)
        self._loop = asyncio.new_event_loop()

    def assessment(self, bundle: bytes) -> Assessment:
        """The assessment of the /evaluate answer; FhirInputError and AssessmentUnavailable
        as /evaluate raises them."""
        patient = parse_bundle(bundle, self.limits)
        answer = self._loop.run_until_complete(
            evaluation_answer(self._evaluator, patient, self.as_of))
        return cast(Assessment, answer["assessment"])

    def evaluate(self, patient: str, bundle: bytes) -> Result:
        try:
            assessment = self.assessment(bundle)
        except FhirInputError as exc:
            return _error(patient, exc.outcome())
        except AssessmentUnavailable as exc:
            return _error(patient, operation_outcome(
                Issue(f"assessment unavailable ({exc.reason})", code="transient")))
        return Result(patient, ASSESSMENT,
                      orjson.dumps({"patient": patient, "assessment": assessment}))


    def close(self) -> None:
        self._evaluator.close()
        self._loop.close()


def _error(patient: str, outcome: dict[str, object]) -> Result:
    return Result(patient, ERROR, orjson.dumps({"patient": patient, "outcome": outcome}))


_LOADED: dict[date, PatientEvaluator] = {}


def process_evaluator(as_of: date) -> PatientEvaluator:
    """This process's evaluator for ``as_of``, loaded on first use."""
    evaluator = _LOADED.get(as_of)
    if evaluator is None:
        evaluator = _LOADED[as_of] = PatientEvaluator(as_of)
    return evaluator
