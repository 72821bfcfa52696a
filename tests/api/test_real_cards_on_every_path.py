"""The api paths with the real card builder: the normal answer, the degraded (crisis-only)
answer, and the order hooks. Fakes of the cards elsewhere keep the api tests fast; these make
sure the real builder reads what each path hands it (the contract of trd_cds.assessment)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from trd_cds.cards import build_cards
from trd_cds.rules import TrdRules
from trd_cds.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "fhir_examples"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def _topics(body: dict[str, Any]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in body["cards"]]


async def test_normal_path(make_client: Any, rules: TrdRules) -> None:
    bundle = (EXAMPLES / "classic-trd.json").read_bytes()
    async with make_client(rules=rules, card_builder=build_cards) as client:
        response = await client.post("/evaluate?asOf=2025-06-01", content=bundle,
                                     headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert "trd-met" in _topics(response.json())


async def test_degraded_path_states_the_item9_evidence(make_client: Any, fhir: Any) -> None:
    from conftest import FakeRules

    bundle = fhir.patient_bundle(5)
    bundle["entry"].append({"resource": fhir.item9(1, 2, "2024-04-25")})
    async with make_client(rules=FakeRules(fail=True), card_builder=build_cards) as client:
        response = await client.post("/evaluate?asOf=2024-05-01", content=orjson.dumps(bundle),
                                     headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["assessment"]["complete"] is False
    assert _topics(body) == ["crisis"]
    # The evidence, not the generic reason (the fallback and the builder share one contract).
    assert "answered 2 on 2024-04-25" in body["cards"][0]["detail"]


async def test_degraded_path_with_parameter_overrides(make_client: Any, fhir: Any) -> None:
    from conftest import FakeRules

    bundle = fhir.patient_bundle(5)
    bundle["entry"].append({"resource": fhir.item9(1, 1, "2024-04-21")})  # 10 days before
    settings = Settings(rules_parameters={"CrisisLookbackDays": 7})
    async with make_client(settings, rules=FakeRules(fail=True), card_builder=build_cards) as client:
        response = await client.post("/evaluate?asOf=2024-05-01", content=orjson.dumps(bundle),
                                     headers=FHIR_JSON)
    # Outside the configured window: no crisis, and nothing else can be said.
    assert response.status_code == 503, response.text


async def test_degraded_path_reads_snomed_suicidal_ideation(make_client: Any, fhir: Any) -> None:
    from conftest import FakeRules

    bundle = fhir.patient_bundle(3)
    bundle["entry"].append({"resource": {
        "resourceType": "Condition", "id": "si", "subject": {"reference": "Patient/p1"},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "6471006"}]}}})
    async with make_client(rules=FakeRules(fail=True), card_builder=build_cards) as client:
        response = await client.post("/evaluate?asOf=2024-05-01", content=orjson.dumps(bundle),
                                     headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert _topics(response.json()) == ["crisis"]


async def test_order_hook_path(make_client: Any, rules: TrdRules) -> None:
    request = json.loads((EXAMPLES / "cds-hooks" / "order-sign-maoi.json").read_text())
    async with make_client(rules=rules, card_builder=build_cards) as client:
        response = await client.post("/cds-services/trd-order-sign", json=request)
    assert response.status_code == 200, response.text
    assert "safety-maoi-serotonergic" in _topics(response.json())
