"""The cards of every example patient, and of the order-sign example request, against golden
files read and checked by a person (`fhir_examples/expected/<name>.cards.json`).

Regenerate after an intended change of wording or logic, then read the diff:

    TRD_UPDATE_GOLDEN=1 .venv/bin/pytest tests/cards/test_golden_cards.py

A regenerated run still fails, so that an update is never mistaken for a pass.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from trd_cds.cards import build_cards
from trd_cds.cards.validate import response_problems
from trd_cds.fhir.client import bundle_resources
from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import TrdRules

EXAMPLES = Path(__file__).resolve().parents[2] / "fhir_examples"
EXPECTED = EXAMPLES / "expected"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text("utf-8"))
AS_OF = date.fromisoformat(MANIFEST["asOf"])
HOOK_REQUESTS = ("order-sign-maoi",)
UPDATE = os.environ.get("TRD_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def _patient_view(rules: TrdRules, name: str) -> dict[str, Any]:
    bundle = json.loads((EXAMPLES / MANIFEST["examples"][name]["bundle"]).read_text("utf-8"))
    patient = PatientData.of(e["resource"] for e in bundle["entry"])
    assert patient.patient is not None
    cards = build_cards(rules.assess(patient, AS_OF), hook="patient-view",
                        patient_id=patient.patient["id"])
    return {"cards": cards}


def _hook_call(rules: TrdRules, name: str) -> dict[str, Any]:
    """The request's prefetch and draft orders, evaluated on the manifest's date (the service
    itself uses the day of the call)."""
    request = json.loads((EXAMPLES / "cds-hooks" / f"{name}.json").read_text("utf-8"))
    resources: list[dict[str, Any]] = []
    for value in request["prefetch"].values():
        resources += bundle_resources(value) if value["resourceType"] == "Bundle" else [value]
    patient = PatientData.of(resources)
    drafts = [e["resource"] for e in request["context"]["draftOrders"]["entry"]]
    findings = rules.check_orders(patient, AS_OF, drafts)
    cards = build_cards(rules.assess(patient, AS_OF), hook=request["hook"], draft_orders=drafts,
                        order_check=findings, patient_id=request["context"]["patientId"])
    return {"cards": cards}


def _check(name: str, response: dict[str, Any]) -> None:
    assert response_problems(response) == [], name
    path = EXPECTED / f"{name}.cards.json"
    text = json.dumps(response, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        path.write_text(text, "utf-8")
        pytest.fail(f"{path.name} rewritten: read the diff, then run again without TRD_UPDATE_GOLDEN")
    assert path.exists(), f"no golden {path.name}: run with TRD_UPDATE_GOLDEN=1 and review it"
    assert json.loads(text) == json.loads(path.read_text("utf-8")), (
        f"{name}: cards differ from {path.name} (TRD_UPDATE_GOLDEN=1 regenerates)")


@pytest.mark.parametrize("name", sorted(MANIFEST["examples"]))
def test_patient_view_cards_match_golden(rules: TrdRules, name: str) -> None:
    _check(name, _patient_view(rules, name))


@pytest.mark.parametrize("name", HOOK_REQUESTS)
def test_order_hook_cards_match_golden(rules: TrdRules, name: str) -> None:
    _check(name, _hook_call(rules, name))


def test_every_example_has_a_golden_and_no_golden_is_orphaned() -> None:
    names = set(MANIFEST["examples"]) | set(HOOK_REQUESTS)
    goldens = {p.name.removesuffix(".cards.json") for p in EXPECTED.glob("*.cards.json")}
    assert goldens == names


def test_order_sign_maoi_drops_what_the_drafted_maoi_forbids(rules: TrdRules) -> None:
    """The drafted phenelzine rules out the serotonergic candidates of the cached assessment:
    bupropion augmentation and every switch option (all serotonergic) disappear."""
    cards = _hook_call(rules, "order-sign-maoi")["cards"]
    topics = [c["source"]["topic"]["code"] for c in cards]
    assert topics[0] == "safety-maoi-serotonergic"
    assert "switch-class" not in topics
    augment = next(c for c in cards if c["source"]["topic"]["code"] == "augment")
    agents = [s["actions"][0]["resource"]["medicationCodeableConcept"]["text"]
              for s in augment["suggestions"]]
    assert "bupropion" not in agents and agents
    assert "Not offered because of the drafted phenelzine: bupropion." in augment["detail"]
    critical = cards[0]
    assert "drafted MAOI **phenelzine** would be taken with the serotonergic escitalopram" in (
        critical["detail"])


def test_patient_view_warns_of_what_the_patient_takes_now(rules: TrdRules) -> None:
    """pregnancy-maoi takes phenelzine and tramadol: the record itself breaks the MAOI rule,
    so patient-view says so first, naming both drugs."""
    cards = _patient_view(rules, "pregnancy-maoi")["cards"]
    first = cards[0]
    assert (first["source"]["topic"]["code"], first["indicator"]) == ("current-maoi-serotonergic",
                                                                      "critical")
    assert "MAOI phenelzine with tramadol" in first["summary"]
    assert first["overrideReasons"]


async def test_the_service_applies_the_draft_removals_end_to_end(make_client: Any,
                                                                 rules: TrdRules) -> None:
    """Through the real CDS Hooks endpoint (the API passes check_orders' findings to the cards
    unchanged): the drafted phenelzine leaves no serotonergic suggestion on any card."""
    from trd_cds.settings import Settings

    request = json.loads((EXAMPLES / "cds-hooks" / "order-sign-maoi.json").read_text("utf-8"))
    async with make_client(Settings(evaluation_timeout_seconds=60), rules=rules,
                           card_builder=build_cards) as client:
        response = await client.post("/cds-services/trd-order-sign", json=request)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert response_problems({"cards": cards}) == []
    ordered = {str(a["resource"]["medicationCodeableConcept"].get("text"))
               for c in cards for s in c.get("suggestions", []) for a in s.get("actions", [])
               if a.get("resource", {}).get("resourceType") == "MedicationRequest"}
    assert ordered and not ordered & {"bupropion", "mirtazapine", "vortioxetine", "imipramine"}
    assert cards[0]["source"]["topic"]["code"] == "safety-maoi-serotonergic"
