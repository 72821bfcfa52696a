from __future__ import annotations

from trd_cds.cache.memory import MemoryCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_values_expire_after_their_ttl() -> None:
    clock = Clock()
    cache = MemoryCache(ttl_seconds=60, jitter=0.0, clock=clock)
    await cache.set("k", {"a": 1})
    clock.now += 59
    assert await cache.get("k") == {"a": 1}
    clock.now += 2
    assert await cache.get("k") is None


async def test_size_is_bounded_and_least_recently_used_goes_first() -> None:
    events: list[str] = []
    cache = MemoryCache(max_entries=2, on_event=lambda backend, event: events.append(event))
    await cache.set("a", {"v": 1})
    await cache.set("b", {"v": 2})
    assert await cache.get("a") == {"v": 1}  # a is now the most recent
    await cache.set("c", {"v": 3})
    assert len(cache) == 2
    assert await cache.get("b") is None
    assert await cache.get("a") == {"v": 1}
    assert events.count("hit") == 2 and events.count("miss") == 1


async def test_jitter_spreads_expiry_but_keeps_it_near_the_ttl() -> None:
    clock = Clock()
    cache = MemoryCache(ttl_seconds=100, jitter=0.2, clock=clock)
    for n in range(50):
        await cache.set(str(n), {"n": n})
    clock.now += 79
    assert all([await cache.get(str(n)) is not None for n in range(50)])
    clock.now += 42
    assert all([await cache.get(str(n)) is None for n in range(50)])


async def test_byte_budget_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(max_bytes=250)
    value = {"text": "x" * 90}  # about 100 bytes of JSON
    for key in "abc":
        await cache.set(key, value)
    assert cache.size_bytes <= 250 and len(cache) == 2
    assert await cache.get("a") is None
    assert await cache.get("c") == value
    await cache.set("huge", {"text": "y" * 1000})  # over the whole budget: not kept
    assert await cache.get("huge") is None and await cache.get("c") == value
    await cache.set("c", {"text": "z"})  # replacing a key gives its bytes back
    assert cache.size_bytes < 150


async def test_a_caller_cannot_change_what_is_cached() -> None:
    cache = MemoryCache()
    original = {"trials": [{"ingredient": "sertraline"}]}
    await cache.set("k", original)
    original["trials"].append({"ingredient": "mirtazapine"})
    got = await cache.get("k")
    assert got == {"trials": [{"ingredient": "sertraline"}]}
    assert got is not None
    got["trials"].clear()
    assert await cache.get("k") == {"trials": [{"ingredient": "sertraline"}]}
