"""Redis result cache: short timeouts, no retries, a circuit breaker, orjson values."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from .base import BreakerSink, CacheEvent, EventSink, ignore_event
from .breaker import BreakerState, CircuitBreaker
from .ttl import jittered_ttl

log = logging.getLogger(__name__)

# Deleting the lock only when we still own it: a slow owner must not free a successor's lock.
_UNLOCK_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

_FAILURES = (RedisError, OSError, TimeoutError, asyncio.TimeoutError)


class RedisCache:
    """ResultCache over redis-py asyncio.

    Every call is bounded by `timeout_seconds` (socket and connect timeouts, plus an outer
    deadline that also covers a hung handshake), is never retried on the request path, and
    is skipped while the breaker is open: Redis trouble costs at most one timeout per request
    until the breaker opens, then nothing.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float = 3600.0,
        jitter: float = 0.1,
        timeout_seconds: float = 0.075,
        lock_ttl_seconds: float = 5.0,
        failure_threshold: int = 5,
        cooldown_seconds: float = 5.0,
        max_connections: int = 64,
        on_event: EventSink = ignore_event,
        on_breaker_change: BreakerSink | None = None,
        client: Redis | None = None,
    ) -> None:
        self._client = client or Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            max_connections=max_connections,
        )
        self._ttl = ttl_seconds
        self._jitter = jitter
        self._timeout = timeout_seconds
        self._lock_ttl_ms = max(1, int(lock_ttl_seconds * 1000))
        self._lock_tokens: dict[str, str] = {}
        self._on_event = on_event
        self._on_breaker_change = on_breaker_change
        self.breaker = CircuitBreaker(
            failure_threshold=failure_threshold,
            cooldown_seconds=cooldown_seconds,
            on_change=self._breaker_changed,
        )

    def _breaker_changed(self, state: BreakerState) -> None:
        level = logging.WARNING if state == "open" else logging.INFO
        log.log(level, "redis circuit breaker %s", state, extra={"breaker": state})
        if self._on_breaker_change is not None:
            self._on_breaker_change(self.name, state)

    def _event(self, event: CacheEvent) -> None:
        self._on_event(self.name, event)

    async def _call(self, operation: str, coro: Any) -> tuple[bool, Any]:
        """Run one Redis command under the breaker and an outer deadline: (ok, result)."""
        if not self.breaker.allow():
            coro.close()
            self._event("skipped")
            return False, None
        try:
            # Twice the socket timeout: connect and command each have their own budget.
            async with asyncio.timeout(self._timeout * 2):
                result = await coro
        except _FAILURES as exc:
            self.breaker.record_failure()
            self._event("error")
            log.warning(
                "redis %s failed: %s",
                operation,
                type(exc).__name__,
                extra={"operation": operation, "error": type(exc).__name__},
            )
            return False, None
        self.breaker.record_success()
        return True, result

    async def get(self, key: str) -> dict[str, Any] | None:
        ok, raw = await self._call("get", self._client.get(key))
        if not ok:
            return None
        if raw is None:
            self._event("miss")
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self._event("error")
            log.warning("redis value is not JSON; ignoring it", extra={"operation": "get"})
            return None
        if not isinstance(value, dict):
            self._event("error")
            return None
        self._event("hit")
        return value

    async def set(self, key: str, value: dict[str, Any]) -> None:
        ttl_ms = int(jittered_ttl(self._ttl, self._jitter) * 1000)
        ok, _ = await self._call("set", self._client.set(key, orjson.dumps(value), px=ttl_ms))
        if ok:
            self._event("set")

    async def try_lock(self, key: str) -> bool:
        token = secrets.token_hex(8)
        ok, taken = await self._call(
            "lock", self._client.set(f"{key}:lock", token, nx=True, px=self._lock_ttl_ms)
        )
        if not ok:
            # Redis unreachable: behave as owner and compute; correctness never needs the lock.
            return True
        if taken:
            self._lock_tokens[key] = token
            return True
        return False

    async def unlock(self, key: str) -> None:
        token = self._lock_tokens.pop(key, None)
        if token is not None:
            await self._call("unlock", self._client.eval(_UNLOCK_SCRIPT, 1, f"{key}:lock", token))

    async def ping(self) -> bool:
        ok, _ = await self._call("ping", self._client.ping())
        return ok

    @property
    def client(self) -> Redis:
        """The client, for stores that share the connection pool (feedback)."""
        return self._client

    async def aclose(self) -> None:
        with contextlib.suppress(*_FAILURES):
            await self._client.aclose()
