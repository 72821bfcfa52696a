"""Launch handles: how a card's link lets the timeline page read one cached assessment.

A handle is `payload.signature`, both base64url: the payload names the cached assessment by its
cache key (ruleset version, evaluation date and a SHA-256 of the data: nothing that identifies
the patient) and when the handle expires; the signature is an HMAC-SHA256 of the payload with
this service's launch key. It is a bearer credential for reading that one assessment while it
lives, so it is short-lived, travels in a URL fragment or a SMART `appContext` (never in a
query string that proxies log), and is compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

VERSION = 1
MAX_HANDLE_CHARS = 1024


class HandleRefused(Exception):
    """The handle cannot be used; `reason` is a short code, safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LaunchGrant:
    cache_key: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """A random launch key (256 bits), for a process that was given none."""
    return secrets.token_urlsafe(32)


class LaunchHandles:
    def __init__(self, key: str, *, lifetime_seconds: int,
                 clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("the launch key must be at least 32 characters")
        # Derived, so the configured secret is never used as-is for anything else.
        self._key = hashlib.sha256(b"trd-cds launch handle\0" + key.encode()).digest()
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def mint(self, cache_key: str) -> str:
        expires = int(self._clock()) + self.lifetime_seconds
        payload = orjson.dumps({"v": VERSION, "k": cache_key, "exp": expires})
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def verify(self, handle: str) -> LaunchGrant:
        if len(handle) > MAX_HANDLE_CHARS or handle.count(".") != 1:
            raise HandleRefused("malformed")
        body, _, signature = handle.partition(".")
        try:
            payload, sent = _unb64(body), _unb64(signature)
        except (binascii.Error, ValueError):
            raise HandleRefused("malformed") from None
        if not hmac.compare_digest(self._sign(payload), sent):
            raise HandleRefused("bad-signature")
        try:
            claims = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise HandleRefused("malformed") from None
        if not isinstance(claims, dict) or claims.get("v") != VERSION:
            raise HandleRefused("unknown-version")
        key, expires = claims.get("k"), claims.get("exp")
        if not isinstance(key, str) or not isinstance(expires, int):
            raise HandleRefused("malformed")
        if expires <= self._clock():
            raise HandleRefused("expired")
        return LaunchGrant(cache_key=key, expires_at=expires)
