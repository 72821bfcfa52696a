"""The in-process cache in front of Redis.

A key names one immutable result (ruleset version, evaluation date, digest of the data), so a
near copy is never stale: it only spares the Redis round trip and the decoding on a warm
request, and keeps warm answers coming while Redis is away. Redis shares results across
workers, replicas and restarts, and holds the cross-replica compute lock.
"""

from __future__ import annotations

from typing import Any

from .base import ResultCache
from .memory import MemoryCache
from .redis_cache import RedisCache


class TieredCache:
    def __init__(self, near: MemoryCache, far: RedisCache) -> None:
        self.near = near
        self.far = far
        self.name = f"{near.name}+{far.name}"

    async def get(self, key: str) -> dict[str, Any] | None:
        value = await self.near.get(key)
        if value is None:
            value = await self.far.get(key)
            if value is not None:
                await self.near.set(key, value)
        return value

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await self.near.set(key, value)
        await self.far.set(key, value)

    async def try_lock(self, key: str) -> bool:
        return await self.far.try_lock(key)

    async def unlock(self, key: str) -> None:
        await self.far.unlock(key)

    async def ping(self) -> bool:
        return await self.far.ping()

    async def aclose(self) -> None:
        await self.near.aclose()
        await self.far.aclose()


def redis_backend(cache: ResultCache) -> RedisCache | None:
    """The Redis behind a result cache, if any (the replay guard and feedback share it)."""
    if isinstance(cache, TieredCache):
        return cache.far
    return cache if isinstance(cache, RedisCache) else None
