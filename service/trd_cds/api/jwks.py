"""Public keys of trusted CDS clients: JWK Sets from a URL or a file, cached by `kid`.

A key set is loaded on first use and kept for `max_age` seconds. A token naming a `kid` the
cached set lacks (the client rotated its keys) triggers one refresh. Every fetch of a set (a
first load, a stale set, an unknown kid, and retries after a failure) happens at most once per
`min_refresh` seconds, so a stream of tokens with made-up kids, or naming a set that fails to
load, cannot turn the service into a flood of requests to the EHR. Concurrent refreshes of one
set share one fetch.
Parsing the keys is PyJWT's (`PyJWKSet`); nothing here touches cryptography itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

from trd_cds.fhir.bounded_body import (
    ACCEPT_ENCODING,
    BadEncoding,
    BodyTooLarge,
    UnsupportedEncoding,
    read_bounded,
)

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 256 * 1024


class KeySetUnavailable(Exception):
    """The key set could not be loaded; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TrustedKey:
    key: PyJWK
    # The `alg` the JWK declares, if any: a token must then use exactly that one.
    alg: str | None


@dataclass(slots=True)
class _Entry:
    keys: dict[str, TrustedKey] = field(default_factory=dict)
    loaded_at: float | None = None
    refreshed_at: float = float("-inf")
    # Why the last load failed, while no load has succeeded yet.
    failure: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def parse_jwks(raw: bytes) -> dict[str, TrustedKey]:
    """kid → key for the RSA and EC signing keys of a JWK Set. Keys without a kid, symmetric
    (`oct`) keys and keys PyJWT cannot use are left out."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise KeySetUnavailable("jwks-not-json") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetUnavailable("jwks-malformed")
    signing = [
        k
        for k in document["keys"]
        if isinstance(k, dict)
        and isinstance(k.get("kid"), str)
        and k.get("kty") in ("RSA", "EC")
        and k.get("use", "sig") == "sig"
    ]
    try:
        key_set = PyJWKSet.from_dict({"keys": signing})
    except (PyJWKSetError, PyJWKError):
        raise KeySetUnavailable("jwks-no-usable-keys") from None
    declared = {str(k["kid"]): k.get("alg") for k in signing}
    found: dict[str, TrustedKey] = {}
    for key in key_set.keys:
        kid = str(key.key_id)
        alg = declared.get(kid)
        found[kid] = TrustedKey(key, alg if isinstance(alg, str) else None)
    return found


class JwksCache:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        max_age: float = 3600.0,
        min_refresh: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self.fetches = 0

    async def key(self, source: str, kid: str) -> TrustedKey | None:
        """The key `kid` of the set at `source` (an https URL or `file:` + path), or None."""
        entry = self._entries.setdefault(source, _Entry())
        now = self._clock()
        stale = entry.loaded_at is None or now - entry.loaded_at >= self._max_age
        # Every fetch, a first load, a stale set or an unknown kid alike, is at most one per
        # `min_refresh`: tokens naming a set that fails to load (made-up ones need no valid
        # signature to get this far) must not each cause a request.
        if (stale or kid not in entry.keys) and now - entry.refreshed_at >= self._min_refresh:
            await self._refresh(source, entry)
        if entry.loaded_at is None:
            raise KeySetUnavailable(entry.failure or "jwks-not-loaded")
        return entry.keys.get(kid)

    async def _refresh(self, source: str, entry: _Entry) -> None:
        started = self._clock()
        async with entry.lock:
            if entry.refreshed_at >= started:
                return  # another request refreshed it while this one waited
            entry.refreshed_at = self._clock()
            try:
                raw = await self._load(source)
                keys = parse_jwks(raw)
            except KeySetUnavailable as exc:
                # Keep serving the keys we had: an EHR's JWKS endpoint hiccup must not lock
                # out every client until it recovers.
                log.warning("jwks refresh failed: %s", exc.reason, extra={"jwks": source})
                if entry.loaded_at is None:
                    entry.failure = exc.reason
                return
            entry.keys = keys
            entry.loaded_at = self._clock()
            entry.failure = None
            log.info("jwks loaded", extra={"jwks": source, "keyCount": len(keys)})

    async def _load(self, source: str) -> bytes:
        self.fetches += 1
        if source.startswith("file:"):
            try:
                return await asyncio.to_thread(Path(source.removeprefix("file:")).read_bytes)
            except OSError:
                raise KeySetUnavailable("jwks-file-unreadable") from None
        try:
            async with self._http.stream(
                "GET",
                source,
                headers={"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING},
                follow_redirects=False,
            ) as response:
                if response.status_code != 200:
                    raise KeySetUnavailable(f"jwks-http-{response.status_code}")
                # The bound holds for the decoded bytes: a compressed answer is inflated only
                # up to it.
                return await read_bounded(response, MAX_JWKS_BYTES)
        except BodyTooLarge:
            raise KeySetUnavailable("jwks-too-large") from None
        except (UnsupportedEncoding, BadEncoding):
            raise KeySetUnavailable("jwks-bad-encoding") from None
        except httpx.HTTPError as exc:
            raise KeySetUnavailable(f"jwks-{type(exc).__name__}") from None


def keyset_source(url: str | None, file: Path | None) -> str | None:
    if file is not None:
        return f"file:{file}"
    return url
