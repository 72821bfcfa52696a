"""Faults the service must ride out: a Redis that dies mid-traffic and comes back, Redis down
or hung under authentication, FHIR servers that answer garbage, and a burst of identical calls.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from conftest import (
    CdsClientIssuer,
    FakeFhirServer,
    FakeRules,
    Fhir,
    fake_cards,
    free_port,
    running_app,
)
from trd_cds.app import create_app
from trd_cds.settings import Settings

pytestmark = pytest.mark.integration
FHIR_JSON = {"content-type": "application/fhir+json"}


class RedisProcess:
    """A redis-server of our own, to kill and restart on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server not installed")
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    redis = RedisProcess()
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


async def _evaluate(client: Any, bundle: dict[str, Any]) -> Any:
    return await client.post(
        "/evaluate?asOf=2024-05-01", content=orjson.dumps(bundle), headers=FHIR_JSON
    )


async def test_redis_dying_mid_traffic_and_coming_back(own_redis: RedisProcess) -> None:
    rules = FakeRules()
    settings = Settings(
        redis_url=own_redis.url,
        redis_timeout_ms=100,
        breaker_failures=2,
        breaker_cooldown_seconds=0.3,
        cache_near=False,  # the Redis tier alone: every request reaches it
    )
    app = create_app(settings, rules=rules, card_builder=fake_cards)
    async with running_app(app) as client:
        cache = app.state.services.cache
        warm = [await _evaluate(client, Fhir.patient_bundle(6, salt=n)) for n in range(3)]
        assert rules.calls == 3
        assert (await _evaluate(client, Fhir.patient_bundle(6, salt=0))).status_code == 200
        assert rules.calls == 3  # a hit

        own_redis.kill()
        during = [await _evaluate(client, Fhir.patient_bundle(6, salt=n)) for n in range(6)]
        assert cache.breaker.state in ("open", "half-open")

        own_redis.start()  # empty: the cache comes back cold
        await asyncio.sleep(0.35)
        after = [await _evaluate(client, Fhir.patient_bundle(6, salt=9)) for _ in range(3)]
        metrics = (await client.get("/metrics")).text
    assert {r.status_code for r in warm + during + after} == {200}
    # Identical answers throughout: Redis trouble changes speed, never content.
    assert {r.json()["assessment"]["statementCount"] for r in warm + during + after} == {2}
    assert cache.breaker.state == "closed"
    assert rules.calls == 3 + 6 + 1  # all computed while down; after recovery, one miss then hits
    assert 'trd_cds_cache_breaker_state{backend="redis"} 0.0' in metrics


async def test_redis_down_at_start_then_up(closed_port: int) -> None:
    """Started with Redis unreachable: serves at once; picks Redis up when it appears."""
    redis = RedisProcess()
    redis.port = closed_port
    rules = FakeRules()
    settings = Settings(
        redis_url=redis.url,
        redis_timeout_ms=100,
        breaker_failures=1,
        breaker_cooldown_seconds=0.2,
        cache_near=False,
    )
    app = create_app(settings, rules=rules, card_builder=fake_cards)
    try:
        async with running_app(app) as client:
            assert (await client.get("/readyz")).status_code == 200
            down = await _evaluate(client, Fhir.patient_bundle(5))
            redis.start()
            await asyncio.sleep(0.25)
            up = [await _evaluate(client, Fhir.patient_bundle(5)) for _ in range(3)]
    finally:
        redis.kill()
    assert down.status_code == 200 and {r.status_code for r in up} == {200}
    assert rules.calls == 2  # once while down, once to fill the cache, then a hit
    assert app.state.services.cache.breaker.state == "closed"


@pytest.mark.parametrize("trouble", ["down", "hung"])
async def test_authentication_survives_redis_trouble(
    cds_issuer: CdsClientIssuer, closed_port: int, hung_redis: Any, trouble: str
) -> None:
    port = closed_port if trouble == "down" else hung_redis.port
    settings = cds_issuer.settings(
        redis_url=f"redis://127.0.0.1:{port}/0",
        redis_timeout_ms=50,
        breaker_failures=2,
        breaker_cooldown_seconds=60,
    )
    headers = cds_issuer.auth("/cds-services")
    app = create_app(settings, rules=FakeRules(), card_builder=fake_cards)
    async with running_app(app) as client:
        started = time.perf_counter()
        first = await client.get("/cds-services", headers=headers)
        replay = await client.get("/cds-services", headers=headers)
        others = [
            await client.get("/cds-services", headers=cds_issuer.auth("/cds-services"))
            for _ in range(5)
        ]
        elapsed = time.perf_counter() - started
    assert first.status_code == 200
    # Without Redis the replay store is this process's memory: the replay is still caught.
    assert replay.status_code == 401
    assert {r.status_code for r in others} == {200}
    assert elapsed < 2.0  # bounded Redis calls, then the breaker skips them


async def test_a_burst_of_identical_hook_calls_is_one_evaluation() -> None:
    rules = FakeRules(delay=0.2)
    app = create_app(Settings(evaluation_timeout_seconds=10), rules=rules, card_builder=fake_cards)
    prefetch = {
        "patient": Fhir.patient(),
        "medicationStatements": Fhir.bundle(
            [Fhir.statement(n) for n in range(5)], bundle_type="searchset"
        ),
    }

    def body() -> dict[str, Any]:
        return {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
            "prefetch": prefetch,
        }

    async with running_app(app) as client:
        answers = await asyncio.gather(
            *(client.post("/cds-services/trd-patient-view", json=body()) for _ in range(50))
        )
    assert {a.status_code for a in answers} == {200}
    assert rules.calls == 1
    assert len({a.json()["cards"][0]["summary"] for a in answers}) == 1


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("garbage", "not-json"),
        ("broken", "http-5xx"),
        ("loop", "next-loop"),
        ("redirect", "redirect"),
        ("huge", "too-large"),
        ("drip", "timeout"),
    ],
)
async def test_a_misbehaving_fhir_server_leaves_the_data_missing(mode: str, reason: str) -> None:
    server = FakeFhirServer([Fhir.patient(), *(Fhir.statement(n) for n in range(3))])
    settings = Settings(
        fhir_max_response_bytes=1024 * 1024,
        fhir_request_timeout_seconds=0.3,
        fhir_deadline_seconds=2.0,
    )
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": f"http://fhir.test/{mode}",
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
        # The patient is given; the medication history must come from the server.
        "prefetch": {"patient": Fhir.patient()},
    }
    async with server.client() as http:
        app = create_app(settings, rules=FakeRules(), card_builder=fake_cards, http_client=http)
        async with running_app(app) as client:
            response = await client.post("/cds-services/trd-patient-view", json=body)
            metrics = (await client.get("/metrics")).text
    assert response.status_code == 412, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert f'key="medicationStatements",result="{reason}"' in metrics


def test_a_client_dripping_its_body_gets_408() -> None:
    """A slow body cannot hold the service: cut at the read budget with an OperationOutcome."""
    from conftest import ThreadedServer

    app = create_app(
        Settings(body_read_timeout_seconds=0.3), rules=FakeRules(), card_builder=fake_cards
    )
    with ThreadedServer(app) as live, socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.settimeout(5)
        sock.sendall(
            b"POST /evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        started = time.monotonic()
        answer = b""
        try:
            while not answer.rstrip().endswith(b"}") and time.monotonic() - started < 6:
                time.sleep(0.05)
                if not answer:
                    sock.sendall(b" ")  # one byte at a time, never finishing
                if _readable(sock):
                    answer += sock.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            pass
        elapsed = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    assert orjson.loads(body)["issue"][0]["code"] == "timeout"
    assert elapsed < 3


def _readable(sock: socket.socket) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])


async def test_the_fhir_access_token_is_not_kept_anywhere_in_redis(redis_url: str) -> None:
    from redis.asyncio import Redis

    token = f"ehr-token-{uuid.uuid4().hex}"
    server = FakeFhirServer([Fhir.patient(), *(Fhir.statement(n) for n in range(3))])
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "http://fhir.test/ok",
        "fhirAuthorization": {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "trd",
        },
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
    }
    async with server.client() as http:
        app = create_app(
            Settings(redis_url=redis_url),
            rules=FakeRules(),
            card_builder=fake_cards,
            http_client=http,
        )
        async with running_app(app) as client:
            assert (
                await client.post("/cds-services/trd-patient-view", json=body)
            ).status_code == 200
            await asyncio.sleep(0.05)  # card types are stored off the response path
    assert all(auth == f"Bearer {token}" for _, auth in server.requests)
    raw = Redis.from_url(redis_url)
    try:
        async for key in raw.scan_iter(count=1000):
            assert token.encode() not in key
            if await raw.type(key) == b"string":
                assert token.encode() not in (await raw.get(key) or b"")
    finally:
        await raw.aclose()
