"""The service with the real TRD rules and card builder, over the example bundles and requests."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from trd_cds.cards import build_cards
from trd_cds.fhir.bundle import InputLimits, parse_bundle
from trd_cds.rules import TrdRules
from trd_cds.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "fhir_examples"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text())
AS_OF = MANIFEST["asOf"]
FHIR_JSON = {"content-type": "application/fhir+json"}
# A budget no loaded machine reaches: these tests are about answers, not about timeouts.
PATIENT = Settings(evaluation_timeout_seconds=60)


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def _hook_request(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / "cds-hooks" / name).read_text())
    return loaded


@pytest.mark.parametrize("example", sorted(MANIFEST["examples"]))
async def test_evaluate_returns_exactly_what_the_rules_assess(
    make_client: Any, rules: TrdRules, example: str
) -> None:
    body = (EXAMPLES / MANIFEST["examples"][example]["bundle"]).read_bytes()
    direct = rules.assess(parse_bundle(body, InputLimits()), date.fromisoformat(AS_OF))
    async with make_client(PATIENT, rules=rules, card_builder=build_cards) as client:
        response = await client.post(f"/evaluate?asOf={AS_OF}", content=body, headers=FHIR_JSON)
        hit = await client.post(f"/evaluate?asOf={AS_OF}", content=body, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["assessment"] == orjson.loads(orjson.dumps(direct))
    assert hit.json()["assessment"] == answer["assessment"]
    assert answer["assessment"]["rulesetVersion"] == rules.ruleset_version
    cards = answer["cards"]
    assert all(
        len(card["summary"]) < 140 and card["indicator"] in ("info", "warning", "critical")
        for card in cards
    )
    assert all(card["source"]["label"] and card["uuid"] for card in cards)
    is_crisis = bool(cards) and cards[0]["source"]["topic"]["code"] == "crisis"
    assert is_crisis == answer["assessment"]["crisis"]


async def test_patient_view_with_prefetch(make_client: Any, rules: TrdRules) -> None:
    async with make_client(PATIENT, rules=rules, card_builder=build_cards) as client:
        response = await client.post(
            "/cds-services/trd-patient-view", json=_hook_request("patient-view-prefetch.json")
        )
    assert response.status_code == 200, response.text
    assert response.json()["cards"]


async def test_patient_view_without_prefetch_fetches_the_same_data(
    make_client: Any, rules: TrdRules, fake_fhir_server: Any
) -> None:
    from trd_cds.fhir.client import bundle_resources

    with_prefetch = _hook_request("patient-view-prefetch.json")
    resources: list[dict[str, Any]] = []
    for value in with_prefetch["prefetch"].values():
        if isinstance(value, dict):
            resources += bundle_resources(value) if value["resourceType"] == "Bundle" else [value]
    server = fake_fhir_server(resources)
    without = _hook_request("patient-view-no-prefetch.json")
    without["fhirServer"] = "http://fhir.test/ok"
    async with (
        server.client() as http,
        make_client(PATIENT, rules=rules, card_builder=build_cards, http_client=http) as client,
    ):
        fetched = await client.post("/cds-services/trd-patient-view", json=without)
        prefetched = await client.post("/cds-services/trd-patient-view", json=with_prefetch)
    assert fetched.status_code == 200, fetched.text
    summaries = [card["summary"] for card in fetched.json()["cards"]]
    assert summaries == [card["summary"] for card in prefetched.json()["cards"]]
    assert all(
        auth == f"Bearer {without['fhirAuthorization']['access_token']}"
        for _, auth in server.requests
    )


async def test_order_sign_of_a_dangerous_order_gets_a_critical_card(
    make_client: Any, rules: TrdRules
) -> None:
    async with make_client(PATIENT, rules=rules, card_builder=build_cards) as client:
        response = await client.post(
            "/cds-services/trd-order-sign", json=_hook_request("order-sign-maoi.json")
        )
    assert response.status_code == 200, response.text
    assert "critical" in [card["indicator"] for card in response.json()["cards"]]


async def test_real_crisis_card_when_the_rules_run_out_of_time(
    make_client: Any, rules: TrdRules
) -> None:
    body = (EXAMPLES / MANIFEST["examples"]["crisis-recent-item9"]["bundle"]).read_bytes()
    settings = Settings(evaluation_timeout_seconds=0.001)
    async with make_client(settings, rules=rules, card_builder=build_cards) as client:
        response = await client.post(f"/evaluate?asOf={AS_OF}", content=body, headers=FHIR_JSON)
    assert response.status_code == 200
    answer = response.json()
    assert answer["assessment"]["complete"] is False
    assert [card["source"]["topic"]["code"] for card in answer["cards"]] == ["crisis"]
    assert "item 9" in answer["cards"][0]["detail"] or "PHQ-9" in answer["cards"][0]["detail"]


async def test_hook_context_patient_must_match_the_prefetch(
    make_client: Any, rules: TrdRules
) -> None:
    request = copy.deepcopy(_hook_request("patient-view-prefetch.json"))
    request["context"]["patientId"] = "someone-else"
    async with make_client(PATIENT, rules=rules, card_builder=build_cards) as client:
        response = await client.post("/cds-services/trd-patient-view", json=request)
    assert response.status_code == 400


async def test_empty_elements_reach_the_real_assessment_as_data_quality(
    make_client: Any, rules: TrdRules
) -> None:
    bundle = json.loads((EXAMPLES / "classic-trd.json").read_text())
    statement = next(
        e["resource"] for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
    )
    statement["dosage"][0]["doseAndRate"] = []  # as an EHR sent it: a whole Bundle was a 422
    async with make_client(PATIENT, rules=rules, card_builder=build_cards) as client:
        response = await client.post(
            f"/evaluate?asOf={AS_OF}", content=orjson.dumps(bundle), headers=FHIR_JSON
        )
    assert response.status_code == 200, response.text
    answer = response.json()
    index = next(i for i, e in enumerate(bundle["entry"]) if e["resource"] is statement)
    assert answer["assessment"]["dataQuality"] == [
        {
            "resource": f"MedicationStatement/{statement['id']}",
            "path": "MedicationStatement.dosage[0].doseAndRate",
            "issue": "empty-element",
            "effect": "dropped",
        },
        # ... and the rules, reading it as absent, say the record has no dose.
        {
            "resource": f"MedicationStatement/{statement['id']}",
            "path": "MedicationStatement.dosage",
            "issue": "dose-not-recorded",
            "effect": "dose-unknown",
        },
    ]
    # The OperationOutcome names what the input reading did, not what the rules concluded.
    [issue] = answer["issues"]["issue"]
    assert issue["severity"] == "warning"
    assert issue["expression"] == [f"Bundle.entry[{index}].resource.dosage[0].doseAndRate"]
    # Read as if the element were absent: that trial's dose is unknown.
    trial = next(t for t in answer["assessment"]["trials"] if "dose-unknown" in t["flags"])
    assert trial["maxDailyDoseMg"] is None
