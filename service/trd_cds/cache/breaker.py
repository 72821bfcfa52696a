"""A circuit breaker: after N consecutive failures stop calling, probe again after a cool-down."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """closed → (N failures) → open → (cool-down elapsed) → half-open: one probe at a time.

    A successful probe closes the breaker; a failed one opens it for another cool-down.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown_seconds: float = 5.0,
        on_change: Callable[[BreakerState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = max(1, failure_threshold)
        self._cooldown = cooldown_seconds
        self._on_change = on_change
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._state == "open" and self._clock() - self._opened_at >= self._cooldown:
            return "half-open"
        return self._state

    def allow(self) -> bool:
        """May the caller try the backend now? In half-open, only one probe is let through."""
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self._probe_in_flight:
            return False
        self._probe_in_flight = True
        self._set("half-open")
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._probe_in_flight = False
        self._set("closed")

    def record_failure(self) -> None:
        self._failures += 1
        half_open_probe = self._probe_in_flight
        self._probe_in_flight = False
        if half_open_probe or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._set("open", force=True)

    def _set(self, state: BreakerState, *, force: bool = False) -> None:
        if state != self._state or force:
            changed = state != self._state
            self._state = state
            if changed and self._on_change is not None:
                self._on_change(state)
