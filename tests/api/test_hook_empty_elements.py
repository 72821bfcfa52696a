"""CDS Hooks input tolerates empty elements as /evaluate does: in the prefetch, in what the
FHIR server sends for missing keys, and in draft orders; strict validation refuses them."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from test_cds_hooks import hook_request

from trd_cds.settings import Settings

# Prefetch key of each resource type the test posts.
_KEYS = {
    "Patient": "patient",
    "Condition": "conditions",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
    "MedicationDispense": "medicationDispenses",
    "Observation": "observations",
    "Procedure": "procedures",
}


def _cases(fhir: Any) -> list[tuple[dict[str, Any], dict[str, Any], list[str]]]:
    # Medication resources have no prefetch key of their own.
    return [case for case in fhir.empty_element_cases() if case[0]["resourceType"] in _KEYS]


def _prefetch_of(fhir: Any, resources: list[dict[str, Any]]) -> dict[str, Any]:
    prefetch: dict[str, Any] = {key: None for key in _KEYS.values()}
    for resource in resources:
        key = _KEYS[resource["resourceType"]]
        if key == "patient":
            prefetch[key] = resource
        else:
            prefetch[key] = prefetch[key] or fhir.bundle([], bundle_type="searchset")
            prefetch[key]["entry"].append({"resource": resource})
    return prefetch


async def _call(client: Any, body: dict[str, Any], service: str = "trd-patient-view") -> Any:
    return await client.post(f"/cds-services/{service}", content=orjson.dumps(body),
                             headers={"content-type": "application/json"})


async def test_prefetch_empty_elements_are_dropped_and_reported(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    cases = _cases(fhir)
    body = hook_request(fhir, prefetch=_prefetch_of(fhir, [dirty for _, dirty, _ in cases]))
    async with make_client(rules=fake_rules) as client:
        response = await _call(client, body)
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 200, response.text
    patient = fake_rules.last_patient
    by_label = {f"{r['resourceType']}/{r['id']}": r for r in patient.resources}
    # Every resource as it was before its empty elements were added: nothing else is lost.
    assert by_label == {f"{c['resourceType']}/{c['id']}": c for c, _, _ in cases}
    assert sorted((f["resource"], f["path"]) for f in patient.findings) == sorted(
        (f"{clean['resourceType']}/{clean['id']}", path)
        for clean, _, paths in cases
        for path in paths
    )
    assert {f["issue"] for f in patient.findings} == {"empty-element"}
    assert {f["effect"] for f in patient.findings} == {"dropped"}
    count = sum(len(paths) for _, _, paths in cases)
    assert (
        'trd_cds_input_findings_total{effect="dropped",issue="empty-element",'
        f'service="trd-patient-view"}} {count}.0'
    ) in metrics


async def test_prefetch_and_bundle_give_the_same_findings(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    cases = _cases(fhir)
    dirty = [d for _, d, _ in cases]
    async with make_client(rules=fake_rules) as client:
        assert (await _call(client, hook_request(fhir, prefetch=_prefetch_of(fhir, dirty)))
                ).status_code == 200
        from_hook = fake_rules.last_patient.findings
        response = await client.post("/evaluate", content=orjson.dumps(fhir.bundle(dirty)),
                                     headers={"content-type": "application/fhir+json"})
    assert response.status_code == 200
    # One patient's data, one digest: the /evaluate call is a cache hit of the hook's result.
    assert fake_rules.calls == 1
    assert response.json()["assessment"] is not None
    assert from_hook == fake_rules.last_patient.findings


async def test_empty_elements_in_a_prefetched_patient_alone(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    body = hook_request(fhir)
    body["prefetch"]["patient"]["name"] = [{"given": [""]}]
    body["prefetch"]["medicationStatements"]["entry"][0]["resource"]["dosage"][0][
        "doseAndRate"] = []
    async with make_client(rules=fake_rules) as client:
        response = await _call(client, body)
    assert response.status_code == 200, response.text
    assert [(f["resource"], f["path"]) for f in fake_rules.last_patient.findings] == [
        ("MedicationStatement/ms1", "MedicationStatement.dosage[0].doseAndRate"),
        ("Patient/p1", "Patient.name"),
    ]
    assert fake_rules.last_patient.finding_locations == (
        "prefetch.medicationStatements.entry[0].resource.dosage[0].doseAndRate",
        "prefetch.patient.name",
    )


async def test_prefetch_empty_elements_are_422_in_strict_mode(make_client: Any, fhir: Any) -> None:
    body = hook_request(fhir)
    body["prefetch"]["medicationStatements"]["entry"][1]["resource"]["dosage"][0][
        "doseAndRate"] = []
    async with make_client(Settings(strict_validation=True)) as client:
        response = await _call(client, body)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == [
        "prefetch.medicationStatements.entry[1].resource.dosage[0].doseAndRate"
    ]


async def test_empty_elements_from_the_fhir_server_are_dropped(
    make_client: Any, fhir: Any, fake_rules: Any, fake_fhir_server: Any
) -> None:
    statement = fhir.statement(5)
    statement["dosage"][0]["doseAndRate"].append({})
    statement["note"] = []
    server = fake_fhir_server([statement])
    body = hook_request(fhir, fhirServer="http://fhir.test/ok")
    del body["prefetch"]["medicationStatements"]
    async with (
        server.client() as http,
        make_client(rules=fake_rules, http_client=http) as client,
    ):
        response = await _call(client, body)
    assert response.status_code == 200, response.text
    fetched = next(r for r in fake_rules.last_patient.resources if r.get("id") == "ms5")
    assert fetched == fhir.statement(5)
    assert [f["path"] for f in fake_rules.last_patient.findings] == [
        "MedicationStatement.dosage[0].doseAndRate[1]",
        "MedicationStatement.note",
    ]


async def test_draft_orders_with_empty_elements_are_checked(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    body = hook_request(fhir, "trd-order-sign")
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    clean = copy.deepcopy(draft)
    draft["dosageInstruction"] = [{"doseAndRate": [], "text": ""}]
    draft["note"] = [{"text": ""}]
    async with make_client(rules=fake_rules) as client:
        response = await _call(client, body, "trd-order-sign")
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 200, response.text
    assert fake_rules.order_calls == [[clean]]
    assert (
        'trd_cds_input_findings_total{effect="dropped",issue="empty-element",'
        'service="trd-order-sign"} 2.0'
    ) in metrics
    async with make_client(Settings(strict_validation=True)) as client:
        refused = await _call(client, body, "trd-order-sign")
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == [
        "context.draftOrders.entry[0].resource.dosageInstruction[0].doseAndRate"
    ]
