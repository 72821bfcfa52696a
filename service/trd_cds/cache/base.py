"""The result-cache interface every backend implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

CacheEvent = Literal["hit", "miss", "error", "skipped", "set", "lock_wait", "lock_timeout"]
EventSink = Callable[[str, CacheEvent], None]
"""Called with (backend name, event); metrics live outside the cache package."""

BreakerSink = Callable[[str, str], None]
"""Called with (backend name, new breaker state) whenever the breaker changes state."""


def ignore_event(backend: str, event: CacheEvent) -> None:
    """Default sink: caches work without any metrics attached."""


class ResultCache(Protocol):
    """A cache of JSON-ready assessments.

    Every method answers quickly or gives up: a backend in trouble reports a miss (or a lost
    lock) rather than raising, so the request path only ever gets slower, never wrong.
    """

    name: str

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any]) -> None: ...

    async def try_lock(self, key: str) -> bool:
        """Take the cross-replica compute lock for `key`; True when this caller owns it."""
        ...

    async def unlock(self, key: str) -> None: ...

    async def ping(self) -> bool: ...

    async def aclose(self) -> None: ...
