"""Get-or-compute over a ResultCache, with one computation per key at a time.

Within a process concurrent requests for the same key share one future; across replicas a
`SET NX` lock lets one replica compute while the others poll the cache briefly, then give up
waiting and compute themselves (a lost lock costs time, never correctness).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .base import ResultCache

Compute = Callable[[], Awaitable[dict[str, Any]]]


class LeaderGone(RuntimeError):
    """The request computing a shared result was cancelled before it finished."""


def _retrieve(future: asyncio.Future[dict[str, Any]]) -> None:
    # Mark the exception as seen even when no follower waited for it.
    if not future.cancelled():
        future.exception()


class SingleFlightCache:
    def __init__(
        self,
        cache: ResultCache,
        *,
        lock_wait_seconds: float = 0.25,
        poll_interval_seconds: float = 0.02,
    ) -> None:
        self.cache = cache
        self._lock_wait = lock_wait_seconds
        self._poll = poll_interval_seconds
        self._inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        """A plain read: a hit needs no flight, no lock and no task."""
        return await self.cache.get(key)

    async def get_or_compute(self, key: str, compute: Compute) -> tuple[dict[str, Any], bool]:
        """The cached value and True, or a freshly computed value and False."""
        shared = self._inflight.get(key)
        if shared is not None:
            return await asyncio.shield(shared), False
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._inflight[key] = future
        try:
            value, hit = await self._lead(key, compute)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
            else:
                future.set_exception(LeaderGone("the computing request was cancelled"))
            raise
        else:
            future.set_result(value)
            return value, hit
        finally:
            self._inflight.pop(key, None)

    async def _lead(self, key: str, compute: Compute) -> tuple[dict[str, Any], bool]:
        cached = await self.cache.get(key)
        if cached is not None:
            return cached, True
        owner = await self.cache.try_lock(key)
        try:
            if not owner:
                cached = await self._wait_for_other_replica(key)
                if cached is not None:
                    return cached, True
            value = await compute()
            await self.cache.set(key, value)
            return value, False
        finally:
            if owner:
                await self.cache.unlock(key)

    async def _wait_for_other_replica(self, key: str) -> dict[str, Any] | None:
        deadline = time.monotonic() + self._lock_wait
        while time.monotonic() < deadline:
            await asyncio.sleep(self._poll)
            cached = await self.cache.get(key)
            if cached is not None:
                return cached
        return None
