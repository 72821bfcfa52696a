"""Input the rules never read costs no answer: a resource id longer than FHIR's 64 characters
(Epic) and a ServiceRequest naming another patient are warnings in `issues`; another
patient's data the rules would read stays a 400, and TRD_STRICT_VALIDATION keeps the strict
behaviour."""

from __future__ import annotations

from typing import Any

import orjson

from trd_cds.fhir.bundle import InputLimits, parse_bundle
from trd_cds.settings import Settings

FHIR_JSON = {"content-type": "application/fhir+json"}
LONG_ID = "e" + "A1b2C3d4" * 8 + "x"  # 66 characters


async def _post(client: Any, bundle: dict[str, Any]) -> Any:
    return await client.post("/evaluate?asOf=2024-05-01", content=orjson.dumps(bundle),
                             headers=FHIR_JSON)


def _service_request(reference: str) -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": "sr1", "status": "active", "intent": "order",
            "subject": {"reference": reference},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "183524004"}]}}


async def test_a_66_character_id_is_a_warning(make_client: Any, fhir: Any) -> None:
    statement = fhir.statement(1)
    statement["id"] = LONG_ID
    bundle = fhir.bundle([fhir.patient(), statement])
    async with make_client() as client:
        response = await _post(client, bundle)
        strict = await _post_strict(make_client, bundle)
    assert len(LONG_ID) == 66
    assert response.status_code == 200, response.text
    body = response.json()
    (issue,) = body["issues"]["issue"]
    assert issue["severity"] == "warning"
    assert issue["expression"] == ["Bundle.entry[1].resource.id"]
    assert "64 characters" in issue["diagnostics"]
    assert strict.status_code == 422


async def _post_strict(make_client: Any, bundle: dict[str, Any]) -> Any:
    async with make_client(Settings(strict_validation=True)) as client:
        return await _post(client, bundle)


async def test_an_unread_resource_naming_another_patient_is_a_warning(
    make_client: Any, fhir: Any
) -> None:
    bundle = fhir.bundle([fhir.patient(), fhir.statement(1),
                          _service_request("https://ehr.example.org/fhir/Patient/someone-else")])
    async with make_client() as client:
        response = await _post(client, bundle)
    assert response.status_code == 200, response.text
    body = response.json()
    (issue,) = body["issues"]["issue"]
    assert issue["expression"] == ["Bundle.entry[2].resource.subject"]
    assert "another patient" in issue["diagnostics"]
    assert (await _post_strict(make_client, bundle)).status_code == 400


async def test_an_unread_resource_about_the_patient_is_no_warning(make_client: Any, fhir: Any) -> None:
    bundle = fhir.bundle([fhir.patient(), _service_request("https://ehr.example.org/fhir/Patient/p1")])
    async with make_client() as client:
        response = await _post(client, bundle)
    assert response.status_code == 200 and "issues" not in response.json()


async def test_read_data_of_another_patient_stays_400(make_client: Any, fhir: Any) -> None:
    bundle = fhir.bundle([fhir.patient(), fhir.statement(1, pid="p2")])
    async with make_client() as client:
        response = await _post(client, bundle)
    assert response.status_code == 400


def test_the_findings_reach_the_patient_data(fhir: Any) -> None:
    statement = fhir.statement(1)
    statement["id"] = LONG_ID
    bundle = fhir.bundle([fhir.patient(), statement,
                          _service_request("https://ehr.example.org/fhir/Patient/other")])
    patient = parse_bundle(orjson.dumps(bundle), InputLimits())
    assert [(f["resource"], f["path"], f["issue"], f["effect"]) for f in patient.findings] == [
        (f"MedicationStatement/{LONG_ID}", "MedicationStatement.id", "id-too-long", "accepted"),
        ("ServiceRequest/sr1", "ServiceRequest.subject", "other-patient-reference", "not-read"),
    ]
