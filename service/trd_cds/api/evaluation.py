"""Patient data → assessment (cached) → cards, with the crisis fallback that waits on nothing.

The assessment comes from the cache or the rules under one time budget. When that fails or
runs out, the answer is built from the crisis signal alone (computed from the data in hand):
a crisis card is never held back by the cache, the FHIR server or the other rules.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

import orjson

from trd_cds.assessment import Assessment, Details, Finding, OrderCheck, no_orders
from trd_cds.cache.keys import patient_digest, result_key
from trd_cds.cache.single_flight import SingleFlightCache
from trd_cds.fhir.bundle import Validator
from trd_cds.fhir.data_quality import warnings_outcome
from trd_cds.fhir.outcome import FhirInputError
from trd_cds.fhir.patient_data import PatientData
from trd_cds.timeline.launch import TimelineLinker

from .metrics import Metrics
from .protocols import CardBuilder, CrisisSignal, RulesEngine, TimelineLaunch

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class AssessmentUnavailable(Exception):
    """No assessment and no crisis to report: the caller answers 503."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Overloaded(RuntimeError):
    """More assessments queued than the service can finish within their budget."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    assessment: Assessment
    cards: list[dict[str, Any]]
    complete: bool


def degraded_assessment(
    crisis: Details | None,
    as_of: date,
    ruleset_version: str | None,
    reason: str,
    data_quality: list[Finding] | None = None,
) -> Assessment:
    """What can be said without the rules: the crisis rule's answer (with its evidence in
    ``details``, as a complete assessment carries it), and that the rest is missing."""
    return Assessment(
        complete=False,
        unavailableReason=reason,
        crisis=crisis is not None,
        evaluationDate=as_of.isoformat(),
        rulesetVersion=ruleset_version,
        trdStatus=None,
        pseudoResistance=False,
        failedClasses=[],
        trials=[],
        staging=None,
        suggestions=[],
        safety=[],
        details=crisis if crisis is not None else Details(),
        dataQuality=data_quality or [],
    )


def card_type(card: dict[str, Any]) -> str:
    """The card's type for metrics and feedback: `source.topic.code` (CDS Hooks 2.0)."""
    source = card.get("source")
    topic = source.get("topic") if isinstance(source, dict) else None
    code = topic.get("code") if isinstance(topic, dict) else None
    return code if isinstance(code, str) and code else "unknown"


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class Evaluator:
    def __init__(
        self,
        *,
        cache: SingleFlightCache,
        card_builder: CardBuilder | None,
        crisis_signal: CrisisSignal,
        metrics: Metrics,
        timeout_seconds: float,
        rules_threads: int = 2,
        max_pending: int = 16,
    ) -> None:
        self.rules: RulesEngine | None = None
        self.cache = cache
        self.card_builder = card_builder
        self.crisis_signal = crisis_signal
        self.metrics = metrics
        self.timeout = timeout_seconds
        # The rules are CPU-bound Python: more threads than this only share the GIL, so a small
        # dedicated pool keeps the event loop free (for the crisis fallback) without thrashing.
        self._executor = ThreadPoolExecutor(max_workers=rules_threads, thread_name_prefix="rules")
        self._max_pending = max_pending
        self._pending = 0
        # Makes the cards' links to the timeline page; None: the cards carry none.
        self.linker: TimelineLinker | None = None

    def _in_rules_thread(self, work: Callable[[], _T]) -> asyncio.Future[_T]:
        """`work` submitted to the rules threads, under admission control: beyond
        `max_pending` computations in progress each new one would only time out and burn CPU
        after its caller has gone, so it is refused straight away (Overloaded). A computation
        counts until its thread finishes it, also when its caller stopped waiting."""
        if self._pending >= self._max_pending:
            raise Overloaded("too many rule evaluations in progress")
        future = asyncio.get_running_loop().run_in_executor(self._executor, work)
        self._pending += 1

        def finished(done: asyncio.Future[_T]) -> None:
            self._pending -= 1
            _retrieve(done)

        future.add_done_callback(finished)
        # Shielded: a caller that stops waiting must not cancel the future, which would mark
        # the computation finished while its thread still runs it.
        return asyncio.shield(future)

    async def _cards_with_orders(
        self,
        assessment: Assessment,
        patient: PatientData,
        as_of: date,
        *,
        hook: str,
        drafts: list[dict[str, Any]],
        budget: float,
        timeline: TimelineLaunch | None = None,
    ) -> list[dict[str, Any]]:
        """The cards, with the safety findings of the drafted orders: checked and built in the
        rules threads (both grow with the number of drafts), within `budget` seconds (what is
        left of the evaluation's)."""
        rules = self.rules
        assert rules is not None
        if budget <= 0:
            raise TimeoutError

        def work() -> list[dict[str, Any]]:
            return self._cards(assessment, patient, hook, drafts,
                               rules.check_orders(patient, as_of, drafts), timeline)

        return await asyncio.wait_for(self._in_rules_thread(work), budget)

    def _cards(self, assessment: Assessment, patient: PatientData, hook: str,
               drafts: list[dict[str, Any]], order_check: OrderCheck,
               timeline: TimelineLaunch | None = None) -> list[dict[str, Any]]:
        build = self.card_builder
        assert build is not None
        if timeline is None:
            return build(assessment, hook=hook, draft_orders=drafts, order_check=order_check,
                         patient_id=_patient_id(patient))
        return build(assessment, hook=hook, draft_orders=drafts, order_check=order_check,
                     patient_id=_patient_id(patient), timeline=timeline)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def ready(self) -> bool:
        return self.rules is not None and self.card_builder is not None

    async def assessment(
        self, patient: PatientData, as_of: date, validate: Validator | None = None
    ) -> tuple[Assessment | None, str]:
        """(assessment, result) where result is hit, miss or degraded-<why> (assessment None)."""
        value, result, _ = await self._keyed_assessment(patient, as_of, validate)
        return value, result

    async def _keyed_assessment(
        self, patient: PatientData, as_of: date, validate: Validator | None = None
    ) -> tuple[Assessment | None, str, str | None]:
        """As `assessment`, with the cache key the assessment is kept under."""
        rules = self.rules
        if rules is None:
            return None, "degraded-not-ready", None
        try:
            digest = patient_digest(patient.resources, patient.findings)
        except orjson.JSONEncodeError:
            # Nested past what orjson encodes (254 levels): far past the input bound, which
            # validation would enforce on this miss.
            raise FhirInputError.of(413, "JSON nested too deeply", code="too-costly") from None
        key = result_key(rules.ruleset_version, as_of, digest)

        def work() -> Assessment:
            # Validation belongs to the miss path: a hit means the same resources passed it.
            if validate is not None:
                validate()
            return rules.assess(patient, as_of)

        async def compute() -> dict[str, Any]:
            # The cache holds JSON objects; these are Assessments (it holds nothing else).
            return cast(dict[str, Any], await self._in_rules_thread(work))

        started = time.perf_counter()
        # A hit is answered straight away: the task, timer and shield below cost several turns
        # of the event loop, a fifth of a warm request. (A hung Redis is bounded by its own
        # socket timeouts and circuit breaker; its errors read as misses.)
        cached = await self.cache.get(key)
        if cached is not None:
            self.metrics.evaluation_seconds.labels("hit").observe(time.perf_counter() - started)
            return cast(Assessment, cached), "hit", key
        # Shielded: when the budget runs out the computation still finishes and fills the cache
        # for the next request; this request answers from the crisis signal now.
        # (It reads the key again: a computation that finished meanwhile is not repeated.)
        task = asyncio.ensure_future(self.cache.get_or_compute(key, compute))
        task.add_done_callback(_retrieve)
        try:
            computed, hit = await asyncio.wait_for(asyncio.shield(task), self.timeout)
        except FhirInputError:
            raise
        except Overloaded:
            result = "degraded-overloaded"
            log.warning("assessment refused: overloaded", extra={"pending": self._pending})
            value: Assessment | None = None
        except TimeoutError:
            result = "degraded-timeout"
            log.warning("assessment timed out", extra={"budgetSeconds": self.timeout})
            value = None
        except Exception as exc:
            result = "degraded-error"
            log.error("assessment failed: %s", type(exc).__name__, exc_info=exc)
            value = None
        else:
            value = cast(Assessment, computed)
            result = "hit" if hit else "miss"
        self.metrics.evaluation_seconds.labels(result).observe(time.perf_counter() - started)
        return value, result, key

    async def evaluate(
        self,
        patient: PatientData,
        as_of: date,
        *,
        hook: str,
        service_id: str,
        draft_orders: list[dict[str, Any]] | None = None,
        validate: Validator | None = None,
        link_base: str | None = None,
    ) -> Evaluation:
        """`link_base`: the service's public address, for the cards' links to the timeline
        page (None: no links)."""
        drafts = draft_orders or []
        started = time.perf_counter()
        assessment, result, key = await self._keyed_assessment(patient, as_of, validate)
        timeline = (
            self.linker.launch(key, link_base, smart=service_id != "evaluate")
            if self.linker is not None and link_base and key is not None and assessment is not None
            else None
        )
        cards: list[dict[str, Any]] | None = None
        if assessment is not None and self.card_builder is not None and self.rules is not None:
            try:
                if drafts:
                    # One budget for the evaluation: the order checks get what is left of it.
                    cards = await self._cards_with_orders(
                        assessment,
                        patient,
                        as_of,
                        hook=hook,
                        drafts=drafts,
                        budget=self.timeout - (time.perf_counter() - started),
                        timeline=timeline,
                    )
                else:
                    cards = self._cards(assessment, patient, hook, drafts, no_orders(), timeline)
            except Overloaded:
                # Cards without the safety checks of the drafts could advise what a draft
                # rules out: answer as without an assessment.
                log.warning("order checks refused: overloaded", extra={"pending": self._pending})
                result = "degraded-overloaded"
            except TimeoutError:
                log.warning("order checks timed out", extra={"budgetSeconds": self.timeout})
                result = "degraded-timeout"
            except Exception as exc:
                log.error("cards failed: %s", type(exc).__name__, exc_info=exc)
                result = "degraded-error"
        if cards is None or assessment is None:
            assessment, cards = self._fallback(patient, as_of, hook, drafts, result)
        self.metrics.evaluations.labels(result).inc()
        cards = [_with_uuid(card) for card in cards]
        for card in cards:
            self.metrics.cards.labels(service_id, card_type(card)).inc()
        return Evaluation(assessment, cards, complete=not result.startswith("degraded"))

    def crisis_only(
        self,
        patient: PatientData,
        as_of: date,
        *,
        hook: str,
        service_id: str,
        draft_orders: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Cards from the crisis signal alone, for when the data needed for more is missing."""
        _, cards = self._fallback(patient, as_of, hook, draft_orders, "degraded-missing-data")
        self.metrics.evaluations.labels("degraded-missing-data").inc()
        cards = [_with_uuid(card) for card in cards]
        for card in cards:
            self.metrics.cards.labels(service_id, card_type(card)).inc()
        return cards

    def _fallback(
        self,
        patient: PatientData,
        as_of: date,
        hook: str,
        drafts: list[dict[str, Any]],
        result: str,
    ) -> tuple[Assessment, list[dict[str, Any]]]:
        crisis = self.crisis_signal(patient, as_of)
        reason = result.removeprefix("degraded-")
        if crisis is None:
            raise AssessmentUnavailable(reason)
        version = self.rules.ruleset_version if self.rules is not None else None
        assessment = degraded_assessment(crisis, as_of, version, reason, list(patient.findings))
        if self.card_builder is None:
            raise AssessmentUnavailable(reason)
        try:
            cards = self._cards(assessment, patient, hook, drafts, no_orders())
        except Exception as exc:
            log.error("crisis cards failed: %s", type(exc).__name__, exc_info=exc)
            raise AssessmentUnavailable(reason) from None
        return assessment, cards


async def evaluation_answer(
    evaluator: Evaluator, patient: PatientData, as_of: date, validate: Validator | None = None,
    link_base: str | None = None,
) -> dict[str, object]:
    """The /evaluate answer, also the `trd-cds evaluate` command's: the assessment, its cards
    and, only when the input had problems that were tolerated, `issues`: an OperationOutcome
    of warnings, one per finding, naming where it is in the Bundle."""
    result = await evaluator.evaluate(
        patient, as_of, hook="patient-view", service_id="evaluate", validate=validate,
        link_base=link_base,
    )
    answer: dict[str, object] = {"assessment": result.assessment, "cards": result.cards}
    issues = warnings_outcome(patient.findings, patient.finding_locations)
    if issues is not None:
        answer["issues"] = issues
    return answer


def _patient_id(patient: PatientData) -> str | None:
    # Card actions name their subject; the id is used in the response only, never logged.
    value = (patient.patient or {}).get("id")
    return value if isinstance(value, str) and value else None


def _with_uuid(card: dict[str, Any]) -> dict[str, Any]:
    # Feedback refers to cards by uuid, so every card leaves with one.
    if isinstance(card.get("uuid"), str) and card["uuid"]:
        return card
    return {**card, "uuid": str(uuid.uuid4())}
