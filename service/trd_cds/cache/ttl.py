"""TTL with jitter, so entries written together do not all expire together."""

from __future__ import annotations

import random


def jittered_ttl(ttl_seconds: float, jitter: float) -> float:
    """`ttl_seconds` spread uniformly by ±`jitter` (a fraction), never below one second."""
    spread = ttl_seconds * max(0.0, min(jitter, 1.0))
    return max(1.0, ttl_seconds + random.uniform(-spread, spread))
