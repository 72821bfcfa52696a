"""In-process TTL cache with a size bound: the embedded default when no Redis is configured."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .base import EventSink, ignore_event
from .ttl import jittered_ttl


class MemoryCache:
    """LRU-bounded, TTL-expiring dict. Single event loop, so no locking is needed."""

    name = "memory"

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        ttl_seconds: float = 3600.0,
        jitter: float = 0.1,
        on_event: EventSink = ignore_event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_seconds
        self._jitter = jitter
        self._on_event = on_event
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> dict[str, Any] | None:
        found = self._entries.get(key)
        if found is None:
            self._on_event(self.name, "miss")
            return None
        expires, value = found
        if expires <= self._clock():
            del self._entries[key]
            self._on_event(self.name, "miss")
            return None
        self._entries.move_to_end(key)
        self._on_event(self.name, "hit")
        return value

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self._entries[key] = (self._clock() + jittered_ttl(self._ttl, self._jitter), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        self._on_event(self.name, "set")

    async def try_lock(self, key: str) -> bool:
        # One process: the in-process single flight already covers it.
        return True

    async def unlock(self, key: str) -> None:
        return None

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._entries.clear()
