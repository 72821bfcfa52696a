"""The service over a real Redis, and over a Redis that is down or hangs: always correct."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from trd_cds.settings import Settings

pytestmark = pytest.mark.integration
FHIR_JSON = {"content-type": "application/fhir+json"}


async def _evaluate(client: Any, bundle: dict[str, Any]) -> Any:
    return await client.post(
        "/evaluate?asOf=2024-05-01", content=orjson.dumps(bundle), headers=FHIR_JSON
    )


async def test_results_are_shared_through_redis_between_app_instances(
    make_client: Any, fhir: Any, redis_url: str
) -> None:
    from conftest import FakeRules

    rules_a, rules_b = FakeRules(), FakeRules()
    rules_b.ruleset_version = rules_a.ruleset_version  # two replicas, one ruleset
    bundle = fhir.patient_bundle(12)
    settings = Settings(redis_url=redis_url)
    async with (
        make_client(settings, rules=rules_a) as replica_a,
        make_client(settings, rules=rules_b) as replica_b,
    ):
        first = await _evaluate(replica_a, bundle)
        second = await _evaluate(replica_b, bundle)
        metrics = (await replica_b.get("/metrics")).text
    assert first.status_code == second.status_code == 200
    assert first.json()["assessment"] == second.json()["assessment"]
    assert (rules_a.calls, rules_b.calls) == (1, 0)
    assert 'trd_cds_cache_events_total{backend="redis",event="hit"} 1.0' in metrics
    assert 'trd_cds_cache_breaker_state{backend="redis"} 0.0' in metrics


async def test_redis_down_answers_correctly_and_says_so(
    make_client: Any, fhir: Any, closed_port: int
) -> None:
    from conftest import FakeRules

    rules = FakeRules()
    # The Redis tier alone (no near cache): every request goes to Redis.
    settings = Settings(
        redis_url=f"redis://127.0.0.1:{closed_port}/0", breaker_failures=2, cache_near=False
    )
    async with make_client(settings, rules=rules) as client:
        answers = [await _evaluate(client, fhir.patient_bundle(6, salt=n % 2)) for n in range(6)]
        metrics = (await client.get("/metrics")).text
    assert {a.status_code for a in answers} == {200}
    assert [a.json()["assessment"]["statementCount"] for a in answers] == [2] * 6
    # Without a cache every request computes; nothing is wrong, only slower.
    assert rules.calls == 6
    assert 'trd_cds_cache_events_total{backend="redis",event="error"} 2.0' in metrics
    assert 'trd_cds_cache_breaker_state{backend="redis"} 2.0' in metrics


async def test_hung_redis_answers_within_the_socket_timeout(
    make_client: Any, fhir: Any, hung_redis: Any
) -> None:
    settings = Settings(
        redis_url=f"redis://127.0.0.1:{hung_redis.port}/0",
        redis_timeout_ms=50,
        breaker_failures=3,
        breaker_cooldown_seconds=60,
        cache_near=False,
    )
    async with make_client(settings) as client:
        started = time.perf_counter()
        first = await _evaluate(client, fhir.patient_bundle(6))
        first_elapsed = time.perf_counter() - started
        started = time.perf_counter()
        rest = [await _evaluate(client, fhir.patient_bundle(6)) for _ in range(5)]
        rest_elapsed = time.perf_counter() - started
        metrics = (await client.get("/metrics")).text
    assert first.status_code == 200 and {r.status_code for r in rest} == {200}
    # get + lock + set, each bounded; afterwards the breaker is open and costs nothing.
    assert first_elapsed < 1.0
    assert rest_elapsed / len(rest) < first_elapsed
    assert 'trd_cds_cache_breaker_state{backend="redis"} 2.0' in metrics
    assert 'event="skipped"' in metrics


async def test_flapping_redis_recovers_through_half_open(
    make_client: Any, fhir: Any, redis_url: str
) -> None:
    from conftest import FakeRules

    rules = FakeRules()
    settings = Settings(
        redis_url=redis_url, breaker_failures=1, breaker_cooldown_seconds=0.1, cache_near=False
    )
    async with make_client(settings, rules=rules) as client:
        cache = client._transport.app.state.services.cache
        cache.breaker.record_failure()  # as if Redis had just failed
        assert (await _evaluate(client, fhir.patient_bundle(4))).status_code == 200
        import asyncio

        await asyncio.sleep(0.12)
        assert (await _evaluate(client, fhir.patient_bundle(4))).status_code == 200
        assert (await _evaluate(client, fhir.patient_bundle(4))).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert cache.breaker.state == "closed"
    assert 'trd_cds_cache_breaker_state{backend="redis"} 0.0' in metrics
    assert rules.calls == 2  # computed while open, computed after the probe, then a hit


async def test_feedback_and_card_types_live_in_redis(
    make_client: Any, fhir: Any, redis_url: str
) -> None:
    import asyncio
    import uuid

    from redis.asyncio import Redis

    from trd_cds.cache.feedback_store import RedisFeedbackStore

    raw = Redis.from_url(redis_url)
    prefix = f"trd-test-{uuid.uuid4().hex}:v1"
    store = RedisFeedbackStore(raw, prefix=prefix)
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
        "prefetch": {
            "patient": fhir.patient(),
            "medicationStatements": fhir.bundle([fhir.statement(1)], bundle_type="searchset"),
        },
    }
    try:
        async with make_client(Settings(redis_url=redis_url), feedback=store) as client:
            cards = (await client.post("/cds-services/trd-patient-view", json=body)).json()["cards"]
            await asyncio.sleep(0.05)
            feedback: dict[str, Any] = {
                "feedback": [
                    {
                        "card": cards[0]["uuid"],
                        "outcome": "accepted",
                        "outcomeTimestamp": "2025-06-01T10:00:00Z",
                    },
                    {
                        "card": cards[0]["uuid"],
                        "outcome": "overridden",
                        "outcomeTimestamp": "2025-06-01T10:01:00Z",
                        "overrideReason": {
                            "reason": {
                                "code": "already-addressed",
                                "system": "http://trd-cds.org/fhir/CodeSystem/override-reason",
                            },
                            "userComment": "Mrs Smith says she stopped it in May",
                        },
                    },
                ]
            }
            response = await client.post("/cds-services/trd-patient-view/feedback", json=feedback)
            metrics = (await client.get("/metrics")).text
        assert response.status_code == 200
        assert await raw.get(f"{prefix}:card:{cards[0]['uuid']}") == b"suggestion-optimise-dose"
        stored = [orjson.loads(item) for item in await raw.lrange(f"{prefix}:feedback", 0, -1)]
        overridden = {k: v for k, v in feedback["feedback"][1].items() if k != "overrideReason"}
        reason = feedback["feedback"][1]["overrideReason"]["reason"]
        # Newest first; card ids and outcomes only: the free-text comment is not kept.
        assert stored == [
            {"service": "trd-patient-view", **overridden, "overrideReason": {"reason": reason}},
            {"service": "trd-patient-view", **feedback["feedback"][0]},
        ]
        assert b"stopped it" not in b"".join(await raw.lrange(f"{prefix}:feedback", 0, -1))
        assert 'card_type="suggestion-optimise-dose",outcome="accepted"' in metrics
        # Everything kept expires.
        keys = [key async for key in raw.scan_iter(match=f"{prefix}:*")]
        assert len(keys) == 2
        for key in keys:
            assert await raw.ttl(key) > 0, key
    finally:
        keys = [key async for key in raw.scan_iter(match=f"{prefix}:*")]
        if keys:
            await raw.delete(*keys)
        await raw.aclose()


async def test_near_cache_answers_hits_while_redis_is_down(
    make_client: Any, fhir: Any, closed_port: int
) -> None:
    from conftest import FakeRules

    rules = FakeRules()
    settings = Settings(redis_url=f"redis://127.0.0.1:{closed_port}/0", breaker_failures=2)
    async with make_client(settings, rules=rules) as client:
        answers = [await _evaluate(client, fhir.patient_bundle(6, salt=n % 2)) for n in range(6)]
        metrics = (await client.get("/metrics")).text
    assert [a.json()["assessment"]["statementCount"] for a in answers] == [2] * 6
    assert rules.calls == 2  # each bundle once; then the in-process copy answers
    assert 'trd_cds_cache_events_total{backend="memory",event="hit"} 4.0' in metrics
    assert 'trd_cds_cache_breaker_state{backend="redis"} 2.0' in metrics


async def test_a_result_from_redis_is_kept_near_for_the_next_hit(
    make_client: Any, fhir: Any, redis_url: str
) -> None:
    from conftest import FakeRules

    rules_a, rules_b = FakeRules(), FakeRules()
    rules_b.ruleset_version = rules_a.ruleset_version
    bundle = fhir.patient_bundle(8)
    settings = Settings(redis_url=redis_url)
    async with (
        make_client(settings, rules=rules_a) as replica_a,
        make_client(settings, rules=rules_b) as replica_b,
    ):
        assert (await _evaluate(replica_a, bundle)).status_code == 200
        answers = [await _evaluate(replica_b, bundle) for _ in range(3)]
        metrics = (await replica_b.get("/metrics")).text
    assert {a.status_code for a in answers} == {200}
    assert (rules_a.calls, rules_b.calls) == (1, 0)
    # Replica B read Redis once, then its own near copy.
    assert 'trd_cds_cache_events_total{backend="redis",event="hit"} 1.0' in metrics
    assert 'trd_cds_cache_events_total{backend="memory",event="hit"} 2.0' in metrics
