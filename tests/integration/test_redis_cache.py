"""RedisCache against a real Redis, a Redis that is down, and one that hangs."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from trd_cds.cache.redis_cache import RedisCache
from trd_cds.cache.single_flight import SingleFlightCache

pytestmark = pytest.mark.integration


def _key() -> str:
    return f"trd:v1:test-{uuid.uuid4().hex}:2025-01-01:{uuid.uuid4().hex}"


class Events:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.breaker: list[str] = []

    def event(self, backend: str, event: str) -> None:
        self.seen.append(event)

    def breaker_change(self, backend: str, state: str) -> None:
        self.breaker.append(state)


async def test_round_trip_with_ttl_and_jitter(redis_url: str) -> None:
    events = Events()
    cache = RedisCache(redis_url, ttl_seconds=100, jitter=0.1, on_event=events.event)
    key = _key()
    try:
        assert await cache.get(key) is None
        await cache.set(key, {"trdStatus": "met", "trials": [{"ingredient": "sertraline"}]})
        assert await cache.get(key) == {
            "trdStatus": "met",
            "trials": [{"ingredient": "sertraline"}],
        }
        raw = Redis.from_url(redis_url)
        ttl_ms = await raw.pttl(key)
        stored = await raw.get(key)
        await raw.delete(key)
        await raw.aclose()
        assert 89_000 <= ttl_ms <= 110_000
        assert stored is not None and stored.startswith(b"{")  # orjson, not pickle
        assert events.seen == ["miss", "set", "hit"]
    finally:
        await cache.aclose()


async def test_lock_is_exclusive_and_released_only_by_its_owner(redis_url: str) -> None:
    first, second = RedisCache(redis_url), RedisCache(redis_url)
    key = _key()
    try:
        assert await first.try_lock(key)
        assert not await second.try_lock(key)
        await second.unlock(key)  # not the owner: no effect
        assert not await second.try_lock(key)
        await first.unlock(key)
        assert await second.try_lock(key)
        await second.unlock(key)
    finally:
        await first.aclose()
        await second.aclose()


async def test_two_replicas_compute_once(redis_url: str) -> None:
    replicas = [SingleFlightCache(RedisCache(redis_url), lock_wait_seconds=2.0) for _ in range(2)]
    key = _key()
    calls = 0

    async def compute() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.1)
        return {"computed": True}

    try:
        results = await asyncio.gather(*(r.get_or_compute(key, compute) for r in replicas))
        assert calls == 1
        assert [value for value, _ in results] == [{"computed": True}] * 2
        assert sorted(hit for _, hit in results) == [False, True]
    finally:
        for replica in replicas:
            await replica.cache.aclose()


async def test_redis_down_reports_misses_fast_and_opens_the_breaker(closed_port: int) -> None:
    events = Events()
    cache = RedisCache(
        f"redis://127.0.0.1:{closed_port}/0",
        failure_threshold=3,
        cooldown_seconds=60,
        on_event=events.event,
        on_breaker_change=events.breaker_change,
    )
    try:
        started = time.perf_counter()
        for _ in range(10):
            assert await cache.get(_key()) is None
            await cache.set(_key(), {"a": 1})
        elapsed = time.perf_counter() - started
        assert elapsed < 2.0
        assert events.seen.count("error") == 3
        assert events.seen.count("skipped") == 17
        assert events.breaker == ["open"]
        # Without Redis the caller still owns the computation.
        assert await cache.try_lock(_key())
    finally:
        await cache.aclose()


async def test_hung_redis_costs_one_timeout_per_call_until_the_breaker_opens(
    hung_redis: Any,
) -> None:
    events = Events()
    cache = RedisCache(
        f"redis://127.0.0.1:{hung_redis.port}/0",
        timeout_seconds=0.05,
        failure_threshold=2,
        cooldown_seconds=0.3,
        on_event=events.event,
        on_breaker_change=events.breaker_change,
    )
    try:
        started = time.perf_counter()
        assert await cache.get(_key()) is None
        first = time.perf_counter() - started
        assert await cache.get(_key()) is None
        assert events.breaker == ["open"]
        started = time.perf_counter()
        for _ in range(50):
            assert await cache.get(_key()) is None
        skipped = time.perf_counter() - started
        assert first < 0.5
        assert skipped < first  # open breaker: no waiting at all
        assert hung_redis.accepted >= 1
        await asyncio.sleep(0.35)
        assert await cache.get(_key()) is None  # the half-open probe, which fails again
        assert events.breaker == ["open", "half-open", "open"]
    finally:
        await cache.aclose()


async def test_breaker_closes_again_when_redis_comes_back(redis_url: str) -> None:
    events = Events()
    cache = RedisCache(
        redis_url,
        failure_threshold=1,
        cooldown_seconds=0.1,
        on_breaker_change=events.breaker_change,
    )
    try:
        cache.breaker.record_failure()
        assert cache.breaker.state == "open"
        assert await cache.get(_key()) is None
        await asyncio.sleep(0.12)
        assert await cache.ping()
        assert cache.breaker.state == "closed"
        assert events.breaker == ["open", "half-open", "closed"]
    finally:
        await cache.aclose()
