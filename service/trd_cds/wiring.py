"""The parts of an evaluation, put together once for the service and the command line: the
rules (compiled at start-up), the crisis rule with the same parameters, the card builder and
a single-flight cache in front of the result cache."""

from __future__ import annotations

import gc

from trd_cds.api.evaluation import Evaluator
from trd_cds.api.metrics import Metrics
from trd_cds.api.protocols import CardBuilder, CrisisSignal, RulesEngine
from trd_cds.cache.base import ResultCache
from trd_cds.cache.memory import MemoryCache
from trd_cds.cache.single_flight import SingleFlightCache
from trd_cds.cards import build_cards
from trd_cds.fhir.bundle import InputLimits
from trd_cds.rules import CrisisRule, TrdRules
from trd_cds.settings import Settings


def load_rules(settings: Settings) -> RulesEngine:
    """The real TRD rules (compiles the ELM once: the slow part of start-up)."""
    loaded = TrdRules.load(settings.rules_parameters or None)
    if settings.gc_freeze:
        gc.collect()
        gc.freeze()
        # An assessment allocates some 10^5 short-lived objects that reference counting frees;
        # young collections every 700 allocations only slowed it (p90 -9% at 10 000).
        gc.set_threshold(10_000, *gc.get_threshold()[1:])
    return loaded


def input_limits(settings: Settings) -> InputLimits:
    return InputLimits(
        max_bytes=settings.max_body_bytes,
        max_entries=settings.max_entries,
        max_depth=settings.max_json_depth,
        strict=settings.strict_validation,
    )


def memory_cache(settings: Settings, metrics: Metrics) -> MemoryCache:
    """The embedded cache: bounded in entries and bytes, with the configured TTL."""
    return MemoryCache(
        max_entries=settings.cache_max_entries,
        max_bytes=settings.cache_max_bytes,
        ttl_seconds=settings.cache_ttl_seconds,
        jitter=settings.cache_ttl_jitter,
        on_event=metrics.cache_event,
    )


def make_evaluator(
    settings: Settings,
    cache: ResultCache,
    metrics: Metrics,
    *,
    card_builder: CardBuilder | None = None,
    crisis_signal: CrisisSignal | None = None,
) -> Evaluator:
    """An evaluator without rules yet (``evaluator.rules`` is set once they are loaded)."""
    return Evaluator(
        cache=SingleFlightCache(cache, lock_wait_seconds=settings.redis_lock_wait_ms / 1000),
        card_builder=card_builder or build_cards,
        # The crisis rule with the same parameters as the rules; it is read from the value
        # sets and TRDConfig, so it answers while the rules still load.
        crisis_signal=crisis_signal or CrisisRule.load(settings.rules_parameters or None),
        metrics=metrics,
        timeout_seconds=settings.evaluation_timeout_seconds,
        rules_threads=settings.rules_threads,
        max_pending=settings.max_pending_evaluations,
    )
