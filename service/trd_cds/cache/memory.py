"""In-process TTL cache bounded by entries and bytes: the embedded default when no Redis is
configured, and the near cache in front of Redis when one is."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from .base import EventSink, ignore_event
from .ttl import jittered_ttl

MB = 1024 * 1024


class MemoryCache:
    """LRU-bounded, TTL-expiring dict. Single event loop, so no locking is needed.

    Values are kept as their JSON bytes: an assessment of 300 resources takes about 18 kB so,
    against about 65 kB as Python objects, the byte budget holds exactly what it says, and a
    caller can never change a cached value through a shared dict. A hit decodes it again
    (tens of microseconds).
    """

    name = "memory"

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_bytes: int = 64 * MB,
        ttl_seconds: float = 3600.0,
        jitter: float = 0.1,
        on_event: EventSink = ignore_event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._ttl = ttl_seconds
        self._jitter = jitter
        self._on_event = on_event
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    async def get(self, key: str) -> dict[str, Any] | None:
        found = self._entries.get(key)
        if found is None:
            self._on_event(self.name, "miss")
            return None
        expires, blob = found
        if expires <= self._clock():
            self._drop(key)
            self._on_event(self.name, "miss")
            return None
        self._entries.move_to_end(key)
        self._on_event(self.name, "hit")
        value: dict[str, Any] = orjson.loads(blob)
        return value

    async def set(self, key: str, value: dict[str, Any]) -> None:
        blob = orjson.dumps(value)
        if len(blob) > self._max_bytes:
            return  # larger than the whole budget: not worth evicting everything for
        self._drop(key)
        self._entries[key] = (self._clock() + jittered_ttl(self._ttl, self._jitter), blob)
        self._bytes += len(blob)
        while len(self._entries) > self._max or self._bytes > self._max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= len(evicted)
        self._on_event(self.name, "set")

    def _drop(self, key: str) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= len(found[1])

    async def try_lock(self, key: str) -> bool:
        # One process: the in-process single flight already covers it.
        return True

    async def unlock(self, key: str) -> None:
        return None

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._entries.clear()
        self._bytes = 0
