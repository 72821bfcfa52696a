"""A live uvicorn server on loopback, calling a live FHIR server for missing prefetch keys."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from conftest import ThreadedServer, free_port
from trd_cds.app import create_app
from trd_cds.settings import Settings

pytestmark = pytest.mark.integration


class LiveServer(ThreadedServer):
    """The service with its lifespan required: startup failures must fail the test."""

    def __init__(self, app: Any) -> None:
        super().__init__(app, lifespan="on")


@pytest.fixture
def live_stack(
    fhir: Any, fake_fhir_server: Any, redis_url: str
) -> Iterator[tuple[LiveServer, LiveServer, Any]]:
    from conftest import FakeRules, fake_cards

    data = [fhir.patient(), *(fhir.statement(n) for n in range(5)), fhir.phq9(1)]
    fhir_server = fake_fhir_server(data)
    rules = FakeRules()
    app = create_app(
        Settings(redis_url=redis_url, fhir_deadline_seconds=2.0),
        rules=rules,
        card_builder=fake_cards,
    )
    with LiveServer(fhir_server.app) as fhir_live, LiveServer(app) as service:
        yield service, fhir_live, rules


async def test_hook_call_fetches_from_a_live_fhir_server(live_stack: Any) -> None:
    service, fhir_live, rules = live_stack
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": f"{fhir_live.url}/paged",
        "fhirAuthorization": {
            "access_token": "tkn",
            "token_type": "Bearer",
            "expires_in": 60,
            "scope": "patient/*.read",
            "subject": "trd",
        },
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
    }
    async with httpx.AsyncClient(base_url=service.url) as client:
        discovery = await client.get("/cds-services")
        response = await client.post("/cds-services/trd-patient-view", json=body)
        again = await client.post(
            "/cds-services/trd-patient-view", json={**body, "hookInstance": str(uuid.uuid4())}
        )
        metrics = (await client.get("/metrics")).text
    assert discovery.status_code == 200
    assert response.status_code == 200, response.text
    assert response.json()["cards"][0]["summary"] == "optimise-dose"
    assert response.headers["x-request-id"]
    assert again.status_code == 200
    assert rules.calls == 1
    assert len(rules.last_patient.by_type["MedicationStatement"]) == 5
    assert 'trd_cds_fhir_fetch_total{key="medicationStatements",result="ok"} 2.0' in metrics


async def test_a_hung_fhir_server_times_out_per_request(fhir: Any, fake_fhir_server: Any) -> None:
    from conftest import FakeRules, fake_cards

    fhir_server = fake_fhir_server([fhir.patient()])
    settings = Settings(fhir_request_timeout_seconds=0.2, fhir_deadline_seconds=10)
    app = create_app(settings, rules=FakeRules(), card_builder=fake_cards)
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
    }
    with LiveServer(fhir_server.app) as fhir_live, LiveServer(app) as service:
        body["fhirServer"] = f"{fhir_live.url}/slow"
        async with httpx.AsyncClient(base_url=service.url) as client:
            started = time.perf_counter()
            response = await client.post("/cds-services/trd-patient-view", json=body, timeout=10)
            elapsed = time.perf_counter() - started
            metrics = (await client.get("/metrics")).text
    assert response.status_code == 412
    assert elapsed < 5
    assert 'trd_cds_fhir_fetch_total{key="patient",result="timeout"} 1.0' in metrics


async def test_evaluate_over_loopback_under_concurrency(live_stack: Any, fhir: Any) -> None:
    service, _, rules = live_stack
    bundles = [orjson.dumps(fhir.patient_bundle(30, salt=n % 4)) for n in range(40)]
    async with httpx.AsyncClient(base_url=service.url) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/evaluate?asOf=2024-05-01",
                    content=b,
                    headers={"content-type": "application/fhir+json"},
                )
                for b in bundles
            )
        )
    assert {r.status_code for r in responses} == {200}
    assert rules.calls == 4


def test_trd_cds_serve_with_two_workers_loads_the_rules_and_evaluates() -> None:
    from pathlib import Path

    bundle = (
        Path(__file__).resolve().parents[2] / "fhir_examples" / "classic-trd.json"
    ).read_bytes()
    port = free_port()
    # A generous budget: a loaded CI machine must not turn this into a timeout test.
    env = {**os.environ, "TRD_LOG_LEVEL": "WARNING", "TRD_EVALUATION_TIMEOUT_SECONDS": "60"}
    env.pop("TRD_REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "trd_cds.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        readiness: list[int] = []
        while True:
            try:
                status = httpx.get(f"{base}/readyz", timeout=2).status_code
                readiness.append(status)
                if status == 200 and httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"trd-cds serve did not become ready: {readiness[-5:]}")
            time.sleep(0.1)
        assert httpx.get(f"{base}/livez", timeout=2).status_code == 200
        assert httpx.get(f"{base}/cds-services", timeout=2).status_code == 200
        answer = httpx.post(
            f"{base}/evaluate?asOf=2025-06-01",
            content=bundle,
            headers={"content-type": "application/fhir+json"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["assessment"]["evaluationDate"] == "2025-06-01"
        # Metrics add up over both workers: every scrape sees all 6 evaluations.
        for _ in range(5):
            httpx.post(
                f"{base}/evaluate?asOf=2025-06-01",
                content=bundle,
                headers={"content-type": "application/fhir+json"},
                timeout=30,
            )
        for _ in range(4):
            metrics = httpx.get(f"{base}/metrics", timeout=5).text
            counted = sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith("trd_cds_evaluations_total{")
            )
            assert counted == 6
    finally:
        process.terminate()
        process.wait(timeout=15)
