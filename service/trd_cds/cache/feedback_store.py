"""Where CDS Hooks feedback and the type of each card we issued are kept."""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from .keys import KEY_PREFIX

log = logging.getLogger(__name__)

CARD_TTL_SECONDS = 7 * 24 * 3600
FEEDBACK_KEEP = 100_000
# The feedback list expires this long after its last entry (every key kept has an expiry).
FEEDBACK_TTL_SECONDS = 30 * 24 * 3600
# What of a feedback entry is stored: card ids and outcomes, never free text.
_KEPT = ("card", "outcome", "outcomeTimestamp", "acceptedSuggestions")


def storable(service_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as stored: the service, card id, outcome, its time, the ids of accepted
    suggestions and the coded override reason; a clinician's comment is left out."""
    kept: dict[str, Any] = {"service": service_id}
    kept.update((k, entry[k]) for k in _KEPT if k in entry)
    override = entry.get("overrideReason")
    if isinstance(override, dict) and override.get("reason") is not None:
        kept["overrideReason"] = {"reason": override["reason"]}
    return kept


class FeedbackStore(Protocol):
    async def remember_cards(self, card_types: dict[str, str]) -> None:
        """Remember `card uuid → card type` for cards just sent, to label their feedback."""
        ...

    async def card_types(self, uuids: list[str]) -> dict[str, str]: ...

    async def record(self, service_id: str, entries: list[dict[str, Any]]) -> None: ...


class MemoryFeedbackStore:
    def __init__(self, *, max_cards: int = 50_000, max_entries: int = 10_000) -> None:
        self._cards: OrderedDict[str, str] = OrderedDict()
        self._max_cards = max_cards
        self.entries: deque[dict[str, Any]] = deque(maxlen=max_entries)

    async def remember_cards(self, card_types: dict[str, str]) -> None:
        for uuid, card_type in card_types.items():
            self._cards[uuid] = card_type
            self._cards.move_to_end(uuid)
        while len(self._cards) > self._max_cards:
            self._cards.popitem(last=False)

    async def card_types(self, uuids: list[str]) -> dict[str, str]:
        return {uuid: self._cards[uuid] for uuid in uuids if uuid in self._cards}

    async def record(self, service_id: str, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.entries.append(storable(service_id, entry))


class RedisFeedbackStore:
    """Feedback in a capped Redis list that expires 30 days after its last entry; card types
    as short-lived keys.

    Failures are logged and swallowed: feedback is analytics, it must not fail the caller
    more than the memory fallback would.
    """

    def __init__(self, client: Redis, *, prefix: str = KEY_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self.fallback = MemoryFeedbackStore()

    async def remember_cards(self, card_types: dict[str, str]) -> None:
        if not card_types:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for uuid, card_type in card_types.items():
                    pipe.set(f"{self._prefix}:card:{uuid}", card_type, ex=CARD_TTL_SECONDS)
                await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("card types not stored: %s", type(exc).__name__)
            await self.fallback.remember_cards(card_types)

    async def card_types(self, uuids: list[str]) -> dict[str, str]:
        if not uuids:
            return {}
        try:
            found = await self._client.mget([f"{self._prefix}:card:{u}" for u in uuids])
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("card types not read: %s", type(exc).__name__)
            return await self.fallback.card_types(uuids)
        return {
            uuid: (value.decode() if isinstance(value, bytes) else str(value))
            for uuid, value in zip(uuids, found, strict=True)
            if value is not None
        }

    async def record(self, service_id: str, entries: list[dict[str, Any]]) -> None:
        key = f"{self._prefix}:feedback"
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for entry in entries:
                    pipe.lpush(key, orjson.dumps(storable(service_id, entry)))
                pipe.ltrim(key, 0, FEEDBACK_KEEP - 1)
                pipe.expire(key, FEEDBACK_TTL_SECONDS)
                await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("feedback kept in memory only: %s", type(exc).__name__)
            await self.fallback.record(service_id, entries)
