"""Prometheus metrics, one registry per app. No label ever carries patient data: labels are
route templates, status codes, cache backends/events, service ids, card types and the codes
of input findings (issue, effect)."""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from trd_cds.cache.base import CacheEvent

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BREAKER_VALUES = {"closed": 0.0, "half-open": 1.0, "open": 2.0}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.request_seconds = Histogram(
            "trd_cds_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.evaluation_seconds = Histogram(
            "trd_cds_evaluation_duration_seconds",
            "Time to obtain an assessment (cache included).",
            ["result"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.evaluations = Counter(
            "trd_cds_evaluations_total",
            "Assessments by result: hit, miss, degraded-timeout, degraded-error, degraded-not-ready.",
            ["result"],
            registry=r,
        )
        self.cache_events = Counter(
            "trd_cds_cache_events_total",
            "Cache hits, misses, errors, skipped calls (breaker open), sets.",
            ["backend", "event"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "trd_cds_cache_breaker_state",
            "Cache circuit breaker: 0 closed, 1 half-open, 2 open.",
            ["backend"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.ruleset_info = Gauge(
            "trd_cds_ruleset_info",
            "Loaded ruleset version (value 1).",
            ["version"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.ready = Gauge(
            "trd_cds_ready", "1 once the rules are loaded.", registry=r, multiprocess_mode="livemin"
        )
        self.fhir_fetches = Counter(
            "trd_cds_fhir_fetch_total",
            "Prefetch fallback queries to the EHR's FHIR server by key and result.",
            ["key", "result"],
            registry=r,
        )
        self.input_findings = Counter(
            "trd_cds_input_findings_total",
            "Problems tolerated in the input (e.g. empty elements dropped) by issue and effect.",
            ["service", "issue", "effect"],
            registry=r,
        )
        self.cards = Counter(
            "trd_cds_cards_total", "Cards returned.", ["service", "card_type"], registry=r
        )
        self.feedback = Counter(
            "trd_cds_feedback_total",
            "Card feedback by outcome and card type.",
            ["service", "outcome", "card_type"],
            registry=r,
        )

        self.auth_failures = Counter(
            "trd_cds_auth_failures_total",
            "CDS client calls refused (401) by reason: expired, wrong-audience, replayed ...",
            ["reason"],
            registry=r,
        )

    def auth_failure(self, reason: str) -> None:
        self.auth_failures.labels(reason).inc()

    def cache_event(self, backend: str, event: CacheEvent) -> None:
        self.cache_events.labels(backend, event).inc()

    def breaker_changed(self, backend: str, state: str) -> None:
        self.breaker_state.labels(backend).set(_BREAKER_VALUES.get(state, -1.0))

    def fhir_fetch(self, key: str, result: str) -> None:
        self.fhir_fetches.labels(key, result).inc()

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Several workers (`trd-cds serve --workers N`): one answer for all of them.
            combined = CollectorRegistry()
            multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
            return generate_latest(combined)
        return generate_latest(self.registry)


def mark_worker_gone() -> None:
    """Drop this process's live gauges from the shared metrics files at shutdown."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
