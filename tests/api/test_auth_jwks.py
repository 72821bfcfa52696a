"""The key-set cache: fetched over https, bounded, refreshed by unknown kid at a limited rate."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from conftest import public_jwk
from trd_cds.api.auth import MemoryReplayGuard
from trd_cds.api.jwks import MAX_JWKS_BYTES, JwksCache, KeySetUnavailable, parse_jwks

URL = "https://ehr.example.org/jwks.json"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class KeyServer:
    def __init__(self, *kids: str) -> None:
        self.body = json.dumps({"keys": [public_jwk(k) for k in kids]}).encode()
        self.status = 200
        self.calls = 0
        self.delay = 0.0
        self.encoding: str | None = None

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = {"content-encoding": self.encoding} if self.encoding else {}
        # A stream, as from the network (httpx decodes `content=` bodies on construction).
        return httpx.Response(self.status, stream=httpx.ByteStream(self.body), headers=headers)

    def cache(self, clock: Clock, **kw: Any) -> JwksCache:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        return JwksCache(http, clock=clock, **kw)


async def test_keys_are_fetched_once_and_found_by_kid() -> None:
    server, clock = KeyServer("ec384", "rsa"), Clock()
    cache = server.cache(clock, min_refresh=30)
    assert (await cache.key(URL, "ec384")) is not None
    assert (await cache.key(URL, "rsa")) is not None
    assert server.calls == 1


async def test_unknown_kid_refreshes_at_most_once_per_interval() -> None:
    server, clock = KeyServer("ec384"), Clock()
    cache = server.cache(clock, min_refresh=30)
    await cache.key(URL, "ec384")
    clock.now += 31
    assert await cache.key(URL, "made-up-1") is None
    assert await cache.key(URL, "made-up-2") is None
    assert server.calls == 2
    clock.now += 31
    server.body = json.dumps({"keys": [public_jwk("rsa-next")]}).encode()
    assert await cache.key(URL, "rsa-next") is not None
    assert server.calls == 3


async def test_concurrent_unknown_kids_share_one_fetch() -> None:
    server, clock = KeyServer("ec384"), Clock()
    server.delay = 0.05
    cache = server.cache(clock, min_refresh=0)
    results = await asyncio.gather(*(cache.key(URL, "ec384") for _ in range(20)))
    assert all(r is not None for r in results)
    assert server.calls == 1


async def test_keys_expire_after_max_age() -> None:
    server, clock = KeyServer("ec384"), Clock()
    cache = server.cache(clock, max_age=60, min_refresh=30)
    await cache.key(URL, "ec384")
    clock.now += 61
    await cache.key(URL, "ec384")
    assert server.calls == 2


async def test_a_failing_refresh_keeps_the_keys_already_known() -> None:
    server, clock = KeyServer("ec384"), Clock()
    cache = server.cache(clock, max_age=60)
    await cache.key(URL, "ec384")
    server.status = 503
    clock.now += 61
    assert await cache.key(URL, "ec384") is not None


async def test_first_load_failures_are_reported() -> None:
    server, clock = KeyServer("ec384"), Clock()
    server.status = 404
    with pytest.raises(KeySetUnavailable, match="jwks-http-404"):
        await server.cache(clock).key(URL, "ec384")
    server.status, server.body = 200, b"x" * (MAX_JWKS_BYTES + 1)
    with pytest.raises(KeySetUnavailable, match="jwks-too-large"):
        await server.cache(clock).key(URL, "ec384")
    server.body = b"not json"
    with pytest.raises(KeySetUnavailable, match="jwks-not-json"):
        await server.cache(clock).key(URL, "ec384")


async def test_a_compressed_key_set_is_bounded_by_its_decoded_size() -> None:
    import gzip

    server, clock = KeyServer("ec384"), Clock()
    server.encoding = "gzip"
    server.body = gzip.compress(server.body)
    assert await server.cache(clock).key(URL, "ec384") is not None
    server.body = gzip.compress(b" " * (MAX_JWKS_BYTES + 1))  # small on the wire
    with pytest.raises(KeySetUnavailable, match="jwks-too-large"):
        await server.cache(clock).key(URL, "ec384")
    server.encoding = "gzip, gzip"
    with pytest.raises(KeySetUnavailable, match="jwks-bad-encoding"):
        await server.cache(clock).key(URL, "ec384")


def test_symmetric_and_keyless_entries_are_left_out() -> None:
    keys = parse_jwks(
        json.dumps(
            {
                "keys": [
                    {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                    {**public_jwk("rsa"), "kid": None},
                    {**public_jwk("ec256"), "use": "enc"},
                    public_jwk("ec384", "ES384"),
                ]
            }
        ).encode()
    )
    assert list(keys) == ["ec384"]
    assert keys["ec384"].alg == "ES384"


async def test_memory_replay_guard_forgets_expired_ids_and_stays_bounded() -> None:
    clock = Clock()
    guard = MemoryReplayGuard(max_entries=3, clock=clock)
    assert await guard.first_use("a", 10)
    assert not await guard.first_use("a", 10)
    clock.now += 11
    assert await guard.first_use("a", 10)
    for key in "bcde":
        await guard.first_use(key, 10)
    assert len(guard) == 3


async def test_a_key_set_that_never_loaded_is_retried_at_most_once_per_interval() -> None:
    server, clock = KeyServer("ec384"), Clock()
    server.status = 503
    cache = server.cache(clock, min_refresh=30)
    for _ in range(20):
        with pytest.raises(KeySetUnavailable, match="jwks-http-503"):
            await cache.key(URL, "ec384")
        clock.now += 1
    assert server.calls == 1
    clock.now += 11
    server.status = 200
    assert await cache.key(URL, "ec384") is not None
    assert server.calls == 2


async def test_a_stale_key_set_whose_refresh_fails_is_retried_at_most_once_per_interval() -> None:
    server, clock = KeyServer("ec384"), Clock()
    cache = server.cache(clock, max_age=60, min_refresh=30)
    await cache.key(URL, "ec384")
    server.status = 503
    clock.now += 61
    for _ in range(20):
        assert await cache.key(URL, "ec384") is not None
        assert await cache.key(URL, "made-up") is None
        clock.now += 1
    assert server.calls == 2
    clock.now += 11
    await cache.key(URL, "ec384")
    assert server.calls == 3


def _forged(iss: str, jku: str, n: int) -> str:
    """An unsigned token (a signature of junk) that names a trusted issuer and its jku."""
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    header = part({"alg": "ES384", "typ": "JWT", "kid": f"kid-{n}", "jku": jku})
    claims = part({"iss": iss, "aud": "https://cds.example.org/cds-services", "jti": str(n)})
    return f"{header}.{claims}.AAAA"


async def test_forged_tokens_naming_a_failing_jku_cause_one_fetch() -> None:
    from trd_cds.api.auth import AuthError, TokenVerifier
    from trd_cds.settings import TrustedIssuer

    server = KeyServer("ec384")
    server.status = 500
    iss = "https://ehr.example.org/fhir"
    clock = Clock()
    verifier = TokenVerifier(
        [TrustedIssuer(iss=iss, jku=[URL])],
        jwks=server.cache(clock, min_refresh=30),
        replay=MemoryReplayGuard(),
    )
    reasons = set()
    for n in range(20):
        clock.now += 1
        with pytest.raises(AuthError) as refused:
            await verifier.verify(_forged(iss, URL, n), "https://cds.example.org/cds-services")
        reasons.add(refused.value.reason)
    assert reasons == {"keys-unavailable:jwks-http-500"}
    assert server.calls == 1
