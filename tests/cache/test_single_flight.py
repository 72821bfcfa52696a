from __future__ import annotations

import asyncio
from typing import Any

import pytest

from trd_cds.cache.memory import MemoryCache
from trd_cds.cache.single_flight import SingleFlightCache


async def test_concurrent_requests_for_one_key_compute_once() -> None:
    flight = SingleFlightCache(MemoryCache())
    calls = 0

    async def compute() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"value": 42}

    results = await asyncio.gather(*(flight.get_or_compute("k", compute) for _ in range(20)))
    assert calls == 1
    assert all(value == {"value": 42} for value, _ in results)
    value, hit = await flight.get_or_compute("k", compute)
    assert hit and value == {"value": 42} and calls == 1


async def test_a_failure_reaches_every_waiter_and_is_not_cached() -> None:
    flight = SingleFlightCache(MemoryCache())
    calls = 0

    async def compute() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise ValueError("boom")

    results = await asyncio.gather(
        *(flight.get_or_compute("k", compute) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(r, ValueError) for r in results)
    with pytest.raises(ValueError):
        await flight.get_or_compute("k", compute)
    assert calls == 2


async def test_different_keys_do_not_wait_for_each_other() -> None:
    flight = SingleFlightCache(MemoryCache())
    started: list[str] = []

    def compute_for(key: str) -> Any:
        async def compute() -> dict[str, Any]:
            started.append(key)
            await asyncio.sleep(0.02)
            return {"key": key}

        return compute

    results = await asyncio.gather(*(flight.get_or_compute(k, compute_for(k)) for k in "abc"))
    assert [value["key"] for value, _ in results] == ["a", "b", "c"]
    assert sorted(started) == ["a", "b", "c"]
