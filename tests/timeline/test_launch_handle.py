"""Launch handles: signed, short-lived, naming a cache entry and nothing about the patient."""

from __future__ import annotations

import base64

import pytest

from trd_cds.timeline.handle import HandleRefused, LaunchHandles, new_key

KEY = "k" * 40
CACHE_KEY = "trd:v1:abc123:2025-06-01:" + "0" * 64


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_handle_names_its_cache_entry_until_it_expires() -> None:
    clock = Clock()
    handles = LaunchHandles(KEY, lifetime_seconds=600, clock=clock)
    handle = handles.mint(CACHE_KEY)
    grant = handles.verify(handle)
    assert grant.cache_key == CACHE_KEY
    assert grant.expires_at == 1_000_600
    clock.now += 599
    assert handles.verify(handle).cache_key == CACHE_KEY
    clock.now += 1
    with pytest.raises(HandleRefused) as refused:
        handles.verify(handle)
    assert refused.value.reason == "expired"


def test_the_payload_carries_only_the_cache_key_and_expiry() -> None:
    handle = LaunchHandles(KEY, lifetime_seconds=60).mint(CACHE_KEY)
    body = handle.split(".")[0]
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert set(__import__("orjson").loads(payload)) == {"v", "k", "exp"}
    # URL-fragment safe: no character that would need escaping.
    assert all(c.isalnum() or c in "-_." for c in handle)


def test_another_key_or_a_changed_payload_is_refused() -> None:
    handles = LaunchHandles(KEY, lifetime_seconds=600)
    handle = handles.mint(CACHE_KEY)
    with pytest.raises(HandleRefused, match="bad-signature"):
        LaunchHandles("x" * 40, lifetime_seconds=600).verify(handle)
    body, signature = handle.split(".")
    other = LaunchHandles(KEY, lifetime_seconds=600).mint("trd:v1:other")
    with pytest.raises(HandleRefused, match="bad-signature"):
        handles.verify(other.split(".")[0] + "." + signature)
    # A longer lifetime cannot be written in: the expiry is signed.
    forged = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).replace(b'"exp":', b'"exp":9')
    ).rstrip(b"=").decode()
    with pytest.raises(HandleRefused, match="bad-signature"):
        handles.verify(forged + "." + signature)


@pytest.mark.parametrize("handle", ["", "abc", "a.b.c", "!!.??", "x" * 2000, "e30.AAAA"])
def test_malformed_handles_are_refused_with_a_reason(handle: str) -> None:
    with pytest.raises(HandleRefused) as refused:
        LaunchHandles(KEY, lifetime_seconds=600).verify(handle)
    assert refused.value.reason in {"malformed", "bad-signature"}


def test_keys_are_long_and_random() -> None:
    assert len(new_key()) >= 32 and new_key() != new_key()
    with pytest.raises(ValueError):
        LaunchHandles("short", lifetime_seconds=600)
