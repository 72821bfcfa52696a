"""CDS Hooks 2.0 discovery and service calls through HTTP."""

from __future__ import annotations

import copy
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

SERVICES = {
    "trd-patient-view": "patient-view",
    "trd-order-select": "order-select",
    "trd-order-sign": "order-sign",
}


def hook_request(
    fhir: Any, service_id: str = "trd-patient-view", **overrides: Any
) -> dict[str, Any]:
    """A complete request with every prefetch key."""
    hook = SERVICES[service_id]
    context: dict[str, Any] = {"userId": "Practitioner/dr1", "patientId": "p1", "encounterId": "e1"}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = fhir.bundle([fhir.draft_order("draft1")])
    if hook == "order-select":
        context["selections"] = ["MedicationRequest/draft1"]
    search = lambda *resources: fhir.bundle(list(resources), bundle_type="searchset")  # noqa: E731
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": {
            "patient": fhir.patient(),
            "conditions": search(),
            "medicationStatements": search(fhir.statement(1), fhir.statement(2)),
            "medicationRequests": None,
            "medicationDispenses": search(),
            "observations": search(fhir.phq9(1)),
            "procedures": None,
        },
    }
    body.update(overrides)
    return body


def _outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body


async def test_discovery_lists_three_services_with_recommended_prefetch(make_client: Any) -> None:
    async with make_client() as client:
        response = await client.get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert {k: s["hook"] for k, s in services.items()} == SERVICES
    for service in services.values():
        assert service["title"] and service["description"] and service["usageRequirements"]
        prefetch = service["prefetch"]
        assert set(prefetch) == {
            "patient",
            "conditions",
            "medicationStatements",
            "medicationRequests",
            "medicationDispenses",
            "observations",
            "procedures",
        }
        assert prefetch["patient"] == "Patient/{{context.patientId}}"
        for key, query in prefetch.items():
            if key == "patient":
                continue
            params = parse_qs(urlsplit(query).query)
            assert set(params) <= {"patient", "subject", "code"}, query
            assert (params.get("patient") or params.get("subject")) == ["{{context.patientId}}"]
        codes = parse_qs(urlsplit(prefetch["observations"]).query)["code"][0].split(",")
        assert {"http://loinc.org|44261-6", "http://loinc.org|44260-8"} <= set(codes)


@pytest.mark.parametrize("service_id", list(SERVICES))
async def test_each_service_answers_with_cards(
    make_client: Any, fhir: Any, fake_rules: Any, service_id: str
) -> None:
    async with make_client(rules=fake_rules) as client:
        response = await client.post(
            f"/cds-services/{service_id}", json=hook_request(fhir, service_id)
        )
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert cards[0]["summary"] == "optimise-dose"
    assert all(isinstance(card["uuid"], str) for card in cards)
    if service_id == "trd-patient-view":
        assert fake_rules.order_calls == []
    else:
        # Draft orders reach the safety check and the cards.
        assert fake_rules.order_calls[0][0]["id"] == "draft1"
        assert cards[-1]["summary"] == "MedicationRequest/draft1"


async def test_unknown_service_is_404(make_client: Any, fhir: Any) -> None:
    async with make_client() as client:
        _outcome(await client.post("/cds-services/nope", json=hook_request(fhir)), 404)
        _outcome(await client.post("/cds-services/nope/feedback", json={"feedback": []}), 404)


def _without(path: str) -> Any:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        del target[last]

    return mutate


def _setting(path: str, value: Any) -> Any:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        target[last] = value

    return mutate


@pytest.mark.parametrize(
    ("service_id", "mutate", "expression"),
    [
        ("trd-patient-view", _setting("hook", "order-sign"), "hook"),
        ("trd-patient-view", _without("hook"), "$.hook"),
        ("trd-patient-view", _without("hookInstance"), "$.hookInstance"),
        ("trd-patient-view", _setting("hookInstance", "not-a-uuid"), "hookInstance"),
        ("trd-patient-view", _without("context"), "context"),
        ("trd-patient-view", _without("context.userId"), "context.userId"),
        ("trd-patient-view", _setting("context.userId", "dr1"), "context.userId"),
        ("trd-patient-view", _without("context.patientId"), "context.patientId"),
        ("trd-patient-view", _setting("context.patientId", 42), "context.patientId"),
        ("trd-patient-view", _setting("context.encounterId", ""), "context.encounterId"),
        ("trd-patient-view", _setting("fhirServer", "not a url"), "fhirServer"),
        (
            "trd-patient-view",
            _setting(
                "fhirAuthorization",
                {
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": "patient/*.read",
                    "subject": "svc",
                },
            ),
            "fhirServer",
        ),
        ("trd-patient-view", _setting("prefetch", []), "prefetch"),
        ("trd-order-sign", _without("context.draftOrders"), "context.draftOrders"),
        (
            "trd-order-sign",
            _setting("context.draftOrders", {"resourceType": "MedicationRequest"}),
            "context.draftOrders",
        ),
        ("trd-order-select", _without("context.selections"), "context.selections"),
        ("trd-order-select", _setting("context.selections", []), "context.selections"),
        (
            "trd-order-select",
            _setting("context.selections", ["MedicationRequest/other"]),
            "context.selections[0]",
        ),
    ],
)
async def test_requests_violating_cds_hooks_are_400(
    make_client: Any, fhir: Any, service_id: str, mutate: Any, expression: str
) -> None:
    body = hook_request(fhir, service_id)
    mutate(body)
    async with make_client() as client:
        outcome = _outcome(await client.post(f"/cds-services/{service_id}", json=body), 400)
    assert outcome["issue"][0]["expression"] == [expression]


async def test_fhir_authorization_fields_are_checked(make_client: Any, fhir: Any) -> None:
    good = {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "svc",
    }
    async with make_client() as client:
        for field, value in [
            ("access_token", None),
            ("token_type", "MAC"),
            ("expires_in", "300"),
            ("scope", None),
        ]:
            auth = (
                {**good, field: value}
                if value is not None
                else {k: v for k, v in good.items() if k != field}
            )
            body = hook_request(fhir, fhirServer="https://ehr.example/fhir", fhirAuthorization=auth)
            _outcome(await client.post("/cds-services/trd-patient-view", json=body), 400)


async def test_non_json_hook_body_is_400(make_client: Any) -> None:
    async with make_client() as client:
        _outcome(
            await client.post(
                "/cds-services/trd-patient-view",
                content=b"{",
                headers={"content-type": "application/json"},
            ),
            400,
        )
        _outcome(await client.post("/cds-services/trd-patient-view", json=[1]), 400)


async def test_invalid_prefetched_resource_is_422_naming_key_and_element(
    make_client: Any, fhir: Any
) -> None:
    body = hook_request(fhir)
    body["prefetch"]["medicationStatements"]["entry"][1]["resource"]["effectivePeriod"]["end"] = (
        "soon"
    )
    async with make_client() as client:
        outcome = _outcome(await client.post("/cds-services/trd-patient-view", json=body), 422)
    assert outcome["issue"][0]["expression"] == [
        "prefetch.medicationStatements.entry[1].resource.effectivePeriod.end"
    ]


async def test_prefetch_about_another_patient_is_400(make_client: Any, fhir: Any) -> None:
    body = hook_request(fhir)
    body["prefetch"]["observations"]["entry"].append({"resource": fhir.phq9(9, pid="someone-else")})
    async with make_client() as client:
        _outcome(await client.post("/cds-services/trd-patient-view", json=body), 400)


async def test_missing_required_prefetch_without_fhir_server_is_412(
    make_client: Any, fhir: Any
) -> None:
    async with make_client() as client:
        for drop in (["patient"], ["medicationStatements", "medicationRequests"]):
            body = hook_request(fhir)
            for key in drop:
                del body["prefetch"][key]
            _outcome(await client.post("/cds-services/trd-patient-view", json=body), 412)
        # The EHR's own fetch failed (OperationOutcome) and there is no server to ask.
        body = hook_request(fhir)
        body["prefetch"]["patient"] = {"resourceType": "OperationOutcome", "issue": []}
        _outcome(await client.post("/cds-services/trd-patient-view", json=body), 412)
        # One of the two medication keys is enough; null means "none", which is data.
        body = hook_request(fhir)
        del body["prefetch"]["medicationStatements"]
        assert (await client.post("/cds-services/trd-patient-view", json=body)).status_code == 200


async def test_missing_data_still_sends_the_crisis_card(make_client: Any, fhir: Any) -> None:
    from datetime import date

    body = hook_request(fhir)
    del body["prefetch"]["medicationStatements"]
    del body["prefetch"]["medicationRequests"]
    body["prefetch"]["observations"]["entry"].append(
        {"resource": fhir.item9(1, 2, date.today().isoformat())}
    )
    async with make_client() as client:
        response = await client.post("/cds-services/trd-patient-view", json=body)
    assert response.status_code == 200
    assert [c["indicator"] for c in response.json()["cards"]] == ["critical"]


async def test_order_sign_with_an_invalid_draft_order_is_422(make_client: Any, fhir: Any) -> None:
    body = hook_request(fhir, "trd-order-sign")
    body["context"]["draftOrders"]["entry"][0]["resource"]["authoredOn"] = "tomorrow"
    async with make_client() as client:
        outcome = _outcome(await client.post("/cds-services/trd-order-sign", json=body), 422)
    assert outcome["issue"][0]["expression"] == ["context.draftOrders.entry[0].resource.authoredOn"]


async def test_same_data_in_another_order_hits_the_cache(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    first = hook_request(fhir)
    second = copy.deepcopy(first)
    second["prefetch"]["medicationStatements"]["entry"].reverse()
    second["hookInstance"] = str(uuid.uuid4())
    async with make_client(rules=fake_rules) as client:
        for body in (first, second):
            assert (
                await client.post("/cds-services/trd-patient-view", json=body)
            ).status_code == 200
    assert fake_rules.calls == 1


async def test_cors_preflight_is_answered_for_browser_clients(make_client: Any) -> None:
    async with make_client() as client:
        response = await client.options(
            "/cds-services/trd-patient-view",
            headers={
                "Origin": "https://ehr.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        discovery = await client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://ehr.example.org")
    assert "POST" in response.headers["access-control-allow-methods"]
    assert discovery.headers["access-control-allow-origin"] in ("*", "https://ehr.example.org")


async def test_draft_orders_for_another_patient_are_400(make_client: Any, fhir: Any) -> None:
    body = hook_request(fhir, "trd-order-sign")
    body["context"]["draftOrders"] = fhir.bundle([fhir.draft_order("draft1", pid="p2")])
    async with make_client() as client:
        _outcome(await client.post("/cds-services/trd-order-sign", json=body), 400)
