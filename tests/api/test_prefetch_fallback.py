"""Missing or failed prefetch keys are fetched from fhirServer: paging, 401, 500, timeouts,
`next` loops, and the bearer token going only where the EHR said."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from trd_cds.settings import Settings

TOKEN = "secret-access-token-0123456789"
AUTH = {
    "access_token": TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "trd",
}


def _data(fhir: Any) -> list[dict[str, Any]]:
    return [fhir.patient(), *(fhir.statement(n) for n in range(7)), fhir.phq9(1)]


def _request(
    mode: str, prefetch: dict[str, Any] | None = None, auth: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": f"http://fhir.test/{mode}",
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
    }
    if auth:
        body["fhirAuthorization"] = AUTH
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


async def _call(
    make_client: Any,
    server: Any,
    body: dict[str, Any],
    rules: Any = None,
    settings: Settings | None = None,
) -> Any:
    async with (
        server.client() as http,
        make_client(settings, rules=rules, http_client=http) as client,
    ):
        return await client.post("/cds-services/trd-patient-view", json=body)


async def test_everything_fetched_when_nothing_is_prefetched(
    make_client: Any, fhir: Any, fake_fhir_server: Any, fake_rules: Any
) -> None:
    server = fake_fhir_server(_data(fhir))
    response = await _call(make_client, server, _request("ok"), fake_rules)
    assert response.status_code == 200, response.text
    assert fake_rules.calls == 1
    paths = sorted(path.split("/")[2] for path, _ in server.requests)
    assert paths == sorted(
        [
            "Patient",
            "Condition",
            "MedicationStatement",
            "MedicationRequest",
            "MedicationDispense",
            "Observation",
            "Procedure",
        ]
    )
    assert all(auth == f"Bearer {TOKEN}" for _, auth in server.requests)


async def test_paged_results_are_followed_to_the_end(
    make_client: Any, fhir: Any, fake_fhir_server: Any, fake_rules: Any
) -> None:
    server = fake_fhir_server(_data(fhir))
    response = await _call(make_client, server, _request("paged"), fake_rules)
    assert response.status_code == 200
    statement_pages = [p for p, _ in server.requests if p.startswith("/paged/MedicationStatement")]
    assert len(statement_pages) == 3
    assert len(fake_rules.last_patient.by_type["MedicationStatement"]) == 7


async def test_only_missing_keys_are_fetched(
    make_client: Any, fhir: Any, fake_fhir_server: Any
) -> None:
    server = fake_fhir_server(_data(fhir))
    prefetch = {
        "patient": fhir.patient(),
        "medicationStatements": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        "conditions": None,
        # The EHR's fetch failed: ask the server.
        "observations": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "timeout"}],
        },
    }
    response = await _call(make_client, server, _request("ok", prefetch))
    assert response.status_code == 200
    fetched = sorted(path.split("/")[2] for path, _ in server.requests)
    assert fetched == ["MedicationDispense", "MedicationRequest", "Observation", "Procedure"]


@pytest.mark.parametrize("mode", ["unauthorized", "broken", "loop", "foreign"])
async def test_server_failures_leave_required_data_missing_412(
    make_client: Any, fhir: Any, fake_fhir_server: Any, mode: str
) -> None:
    server = fake_fhir_server(_data(fhir))
    response = await _call(make_client, server, _request(mode))
    assert response.status_code == 412, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    if mode == "loop":
        statement_pages = [
            p for p, _ in server.requests if p.startswith("/loop/MedicationStatement")
        ]
        assert len(statement_pages) == 2  # the first page, then its self-referencing next, once
    if mode == "foreign":
        assert all(not path.startswith("http://elsewhere") for path, _ in server.requests)


async def test_page_limit_bounds_paging(make_client: Any, fhir: Any, fake_fhir_server: Any) -> None:
    server = fake_fhir_server(_data(fhir))
    response = await _call(
        make_client, server, _request("paged"), settings=Settings(fhir_page_limit=2)
    )
    assert response.status_code == 412
    assert len([p for p, _ in server.requests if p.startswith("/paged/MedicationStatement")]) == 2


async def test_a_hung_server_costs_the_deadline_not_more(
    make_client: Any, fhir: Any, fake_fhir_server: Any
) -> None:
    import time

    server = fake_fhir_server(_data(fhir))
    started = time.perf_counter()
    response = await _call(
        make_client, server, _request("slow"), settings=Settings(fhir_deadline_seconds=0.3)
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 412
    assert elapsed < 3.0


async def test_optional_key_failing_does_not_block_the_answer(
    make_client: Any, fhir: Any, fake_fhir_server: Any
) -> None:
    server = fake_fhir_server(_data(fhir))
    prefetch = {
        "patient": fhir.patient(),
        "medicationStatements": {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": fhir.statement(1)}],
        },
        "medicationRequests": None,
        "conditions": None,
        "medicationDispenses": None,
        "observations": None,
    }
    response = await _call(make_client, server, _request("broken", prefetch))
    assert response.status_code == 200


async def test_without_authorization_no_token_is_sent(
    make_client: Any, fhir: Any, fake_fhir_server: Any
) -> None:
    server = fake_fhir_server(_data(fhir))
    response = await _call(make_client, server, _request("ok", auth=False))
    assert response.status_code == 200
    assert all(auth is None for _, auth in server.requests)


async def test_token_never_reaches_the_logs(
    make_client: Any, fhir: Any, fake_fhir_server: Any, caplog: Any
) -> None:
    server = fake_fhir_server(_data(fhir))
    caplog.set_level(logging.DEBUG)
    await _call(make_client, server, _request("unauthorized"))
    await _call(make_client, server, _request("ok"))
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert TOKEN not in text
    assert "fhir fallback for patient failed: unauthorized" in text


async def test_only_allowed_fhir_servers_are_called(
    make_client: Any, fhir: Any, fake_fhir_server: Any
) -> None:
    server = fake_fhir_server(_data(fhir))
    settings = Settings(allowed_fhir_servers=["http://fhir.test/ok"])
    allowed = await _call(make_client, server, _request("ok"), settings=settings)
    refused = await _call(make_client, server, _request("paged"), settings=settings)
    assert allowed.status_code == 200
    assert refused.status_code == 400
    assert refused.json()["issue"][0]["expression"] == ["fhirServer"]
    assert not [p for p, _ in server.requests if p.startswith("/paged/")]
