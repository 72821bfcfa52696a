"""Every example patient through TrdRules.assess, against its hand-worked expectation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from trd_cds.assessment import no_orders
from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import TrdRules

EXAMPLES = Path(__file__).resolve().parents[2] / "fhir_examples"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text("utf-8"))
AS_OF = date.fromisoformat(MANIFEST["asOf"])
SECTION_11 = {"trdStatus", "pseudoResistance", "failedClasses", "trials", "staging", "suggestions",
              "safety", "crisis", "evaluationDate", "rulesetVersion"}


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def patient(bundle_file: str) -> PatientData:
    bundle = json.loads((EXAMPLES / bundle_file).read_text("utf-8"))
    return PatientData.of(e["resource"] for e in bundle["entry"])


@pytest.mark.parametrize("name", sorted(MANIFEST["examples"]))
def test_example_matches_expected_assessment(rules: TrdRules, name: str) -> None:
    entry = MANIFEST["examples"][name]
    expected: dict[str, Any] = json.loads((EXAMPLES / entry["expected"]).read_text("utf-8"))
    got = rules.assess(patient(entry["bundle"]), AS_OF)
    assert set(got) >= SECTION_11
    assert got["rulesetVersion"] == rules.ruleset_version
    for key, value in expected.items():
        assert got[key] == value, f"{name}: {key}"


def test_at_least_eighteen_examples() -> None:
    assert len(MANIFEST["examples"]) >= 18


def test_classic_trd_details_for_the_cards(rules: TrdRules) -> None:
    got = rules.assess(patient("classic-trd.json"), AS_OF)
    details = got["details"]
    agents = {a["agent"]: a for a in details["augmentationAgents"]}
    assert agents["aripiprazole"]["startDose"] == 2
    assert "bupropion" in agents  # escitalopram is an SSRI
    classes = [c["drugClass"] for c in details["switchCandidates"]]
    assert "SSRI" not in classes and "SNRI" not in classes and "MAOI" not in classes
    assert classes[0] == "NDRI"


def test_optimize_dose_states_the_target(rules: TrdRules) -> None:
    details = rules.assess(patient("pseudo-short-and-low-dose.json"), AS_OF)["details"]
    assert details["doseTarget"] == {"ingredient": "venlafaxine", "currentDailyDoseMg": 75,
                                     "targetDailyDoseMg": 150, "usualMaxDailyDoseMg": 375,
                                     "renalAdvice": None}


def test_extend_trial_states_the_reassessment_date(rules: TrdRules) -> None:
    details = rules.assess(patient("older-adult-56-days.json"), AS_OF)["details"]
    assert details["reassessment"]["reassessOn"] == "2025-06-07"  # 50 of 56 days on 1 June


def test_seizure_disorder_removes_bupropion(rules: TrdRules) -> None:
    details = rules.assess(patient("seizure-disorder.json"), AS_OF)["details"]
    assert all(a["agent"] != "bupropion" for a in details["augmentationAgents"])
    assert {"drug": "bupropion", "rules": ["bupropion-seizure"], "suggestion": "augment"} in details["removedCandidates"]


def test_draft_maoi_on_top_of_an_ssri_is_critical(rules: TrdRules) -> None:
    request = json.loads((EXAMPLES / "cds-hooks" / "order-sign-maoi.json").read_text("utf-8"))
    drafts = [e["resource"] for e in request["context"]["draftOrders"]["entry"]]
    findings = rules.check_orders(patient("classic-trd.json"), AS_OF, drafts)["findings"]
    assert {"ruleId": "maoi-serotonergic", "indicator": "critical", "orderId": "draft-phenelzine",
            "drug": "phenelzine", "washoutDaysLeft": None, "dailyDoseMg": None} in findings


def test_draft_ssri_inside_maoi_washout_reports_days_left(rules: TrdRules) -> None:
    base = patient("classic-trd.json").resources
    # Phenelzine stopped 10 days before the evaluation date: 4 of 14 washout days left.
    maoi = {"resourceType": "MedicationStatement", "id": "maoi", "status": "completed",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "8123", "display": "phenelzine"}]},
            "effectivePeriod": {"start": "2025-01-01", "end": "2025-05-22"}}
    kept = [r for r in base if not (r["resourceType"] == "MedicationStatement"
                                    and r["effectivePeriod"].get("end") is None)]
    draft = {"resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order",
             "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                       "code": "36437", "display": "sertraline"}]}}
    findings = rules.check_orders(PatientData.of([*kept, maoi]), AS_OF, [draft])["findings"]
    washout = [f for f in findings if f["ruleId"] == "maoi-washout"]
    assert washout and washout[0]["washoutDaysLeft"] == 4 and washout[0]["indicator"] == "critical"


def test_no_drafts_no_findings(rules: TrdRules) -> None:
    assert rules.check_orders(patient("classic-trd.json"), AS_OF, []) == no_orders()


@pytest.mark.parametrize(("tablets", "fires"), [(2, False), (3, True)])
def test_draft_citalopram_dose(rules: TrdRules, tablets: int, fires: bool) -> None:
    # 20 mg tablets: 40 mg/day is the limit under 61 (patient is 45).
    draft = {"resourceType": "MedicationRequest", "id": "d", "status": "draft", "intent": "order",
             "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                       "code": "200371", "display": "citalopram 20 MG Oral Tablet"}]},
             "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                                    "doseAndRate": [{"doseQuantity": {"value": tablets, "unit": "tablet"}}]}]}
    findings = rules.check_orders(patient("classic-trd.json"), AS_OF, [draft])["findings"]
    dose = [f for f in findings if f["ruleId"] == "citalopram-dose"]
    assert bool(dose) is fires
    if fires:
        assert dose[0]["dailyDoseMg"] == 60 and dose[0]["indicator"] == "warning"
    # The patient takes escitalopram: any drafted serotonergic drug is a combination warning.
    assert any(f["ruleId"] == "serotonergic-combination" for f in findings)
