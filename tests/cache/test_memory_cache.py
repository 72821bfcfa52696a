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
