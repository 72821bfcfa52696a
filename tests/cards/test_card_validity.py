"""Every card the builder can produce is valid CDS Hooks 2.0 (the rows of the CDS Hooks
service requirements that apply to cards are listed in REQUIREMENTS.md beside this file)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from trd_cds.cards import content
from trd_cds.cards.builder import build_cards, crisis_card
from trd_cds.cards.validate import card_problems, response_problems

TRD_MET: dict[str, Any] = {
    "trdStatus": "met",
    "pseudoResistance": False,
    "failedClasses": ["SNRI", "SSRI"],
    "trials": [
        {"ingredient": "sertraline", "class": "SSRI", "start": "2025-01-01", "end": "2025-03-31",
         "maxDailyDoseMg": 150.0, "daysAtAdequateDose": 80, "adequate": True,
         "flags": ["poor-adherence"],
         "outcome": "non-response", "outcomeInferred": False, "failed": True,
         "inCurrentEpisode": True},
        {"ingredient": "venlafaxine", "class": "SNRI", "start": "2025-04-15", "end": "2025-07-30",
         "maxDailyDoseMg": 225.0, "daysAtAdequateDose": 70, "adequate": True, "flags": [],
         "outcome": "partial-response", "outcomeInferred": True, "failed": True,
         "inCurrentEpisode": True},
    ],
    "staging": {"thaseRush": 2, "maudsleyScore": 8, "maudsleyBand": "moderate"},
    "suggestions": ["augment", "switch-class", "psychotherapy", "ect", "esketamine",
                    "optimize-dose", "extend-trial", "address-adherence", "review-diagnosis"],
    "safety": ["young-adult"],
    "crisis": True,
    "evaluationDate": "2025-09-01",
    "rulesetVersion": "test",
    "details": {
        "age": 23,
        "currentTrialIngredient": "venlafaxine",
        "crisisItem9": {"takenOn": "2025-08-20", "score": 2},
        "crisisSuicidalIdeationCondition": False,
        "doseTarget": {"ingredient": "venlafaxine", "currentDailyDoseMg": 75,
                       "targetDailyDoseMg": 150, "usualMaxDailyDoseMg": 375},
        "reassessment": {"ingredient": "venlafaxine", "daysAtAdequateDose": 20,
                         "requiredDays": 42, "reassessOn": "2025-09-23"},
        "augmentationAgents": [
            {"agent": "aripiprazole", "rxcui": "89013", "startDose": 2, "doseLow": 2,
             "doseHigh": 15, "unit": "mg/day"},
            {"agent": "liothyronine", "rxcui": None, "startDose": 25, "doseLow": 25,
             "doseHigh": 50, "unit": "mcg/day"},
        ],
        "switchCandidates": [{"rank": 3, "drugClass": "NDRI", "ingredient": "bupropion",
                              "rxcui": "42347", "minAdequateMg": 300, "usualMaxMg": 450}],
        "trials": [{"ingredient": "sertraline", "pdc": 0.62}],
        "substanceUseDisorder": True,
        "hypothyroidism": False,
        "ectFirst": True,
    },
}

DRAFT = {
    "resourceType": "MedicationRequest", "id": "draft-1", "status": "draft", "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                              "code": "39786", "display": "venlafaxine"}]},
}

FINDINGS = [
    {"ruleId": "maoi-washout", "indicator": "critical", "orderId": "draft-1", "drug": "phenelzine",
     "washoutDaysLeft": 23, "dailyDoseMg": None},
    {"ruleId": "citalopram-dose", "indicator": "warning", "orderId": "draft-1", "drug": "citalopram",
     "washoutDaysLeft": None, "dailyDoseMg": 60},
    {"ruleId": "some-rule-without-template", "indicator": "warning", "drug": "x"},
]


@pytest.mark.parametrize("hook", ["patient-view", "order-select", "order-sign"])
def test_every_card_kind_is_valid_cds_hooks(hook: str) -> None:
    cards = build_cards(TRD_MET, hook=hook, draft_orders=[DRAFT], order_check={"findings": FINDINGS, "drafts": []},
                        patient_id="p1")
    assert response_problems({"cards": cards}) == []
    topics = [c["source"]["topic"]["code"] for c in cards]
    # ECT first (details.ectFirst): before the drug options.
    expected = ["crisis", "trd-met", "ect", "optimize-dose", "extend-trial", "address-adherence",
                "augment", "switch-class", "psychotherapy", "esketamine", "review-diagnosis"]
    if hook != "patient-view":
        expected[1:1] = ["safety-maoi-washout", "safety-citalopram-dose", "safety-generic"]
    assert topics == expected


def test_crisis_card_comes_first_with_988_and_needs_nothing_else() -> None:
    card = crisis_card({})
    assert card_problems(card) == []
    assert card["indicator"] == "critical"
    for needle in ("988", "988lifeline.org", "741741", "Befrienders", "911"):
        assert needle in card["detail"]
    assessment = copy.deepcopy(TRD_MET)
    assert build_cards(assessment, hook="patient-view")[0]["source"]["topic"]["code"] == "crisis"


def test_safety_cards_carry_override_reasons_with_display() -> None:
    cards = build_cards(TRD_MET, hook="order-sign", draft_orders=[DRAFT], order_check={"findings": FINDINGS, "drafts": []},
                        patient_id="p1")
    safety = [c for c in cards if c["source"]["topic"]["code"].startswith("safety-")]
    assert safety and all(c["overrideReasons"] for c in safety)
    washout = safety[0]
    assert "23 more day(s)" in washout["summary"]
    assert all(r["display"] for c in safety for r in c["overrideReasons"])


def test_order_hooks_update_the_drafted_order_and_patient_view_creates() -> None:
    # The rules read the draft as venlafaxine (its RxNorm code): the failing drug is renewed.
    check = {"findings": [], "drafts": [{"orderId": "draft-1", "drug": "venlafaxine"}]}
    sign = build_cards(TRD_MET, hook="order-sign", draft_orders=[DRAFT], order_check=check,
                       patient_id="p1")
    view = build_cards(TRD_MET, hook="patient-view", draft_orders=[DRAFT], patient_id="p1")
    switch_sign = next(c for c in sign if c["source"]["topic"]["code"] == "switch-class")
    switch_view = next(c for c in view if c["source"]["topic"]["code"] == "switch-class")
    act = switch_sign["suggestions"][0]["actions"][0]
    assert act["type"] == "update" and act["resource"]["id"] == "draft-1"
    assert act["resource"]["medicationCodeableConcept"]["coding"][0]["code"] == "42347"
    # A switch names the titration target and guesses no starting dose.
    assert "doseAndRate" not in act["resource"]["dosageInstruction"][0]
    assert "at least 300 mg/day" in act["resource"]["dosageInstruction"][0]["text"]
    assert switch_view["suggestions"][0]["actions"][0]["type"] == "create"


def test_augmentation_marks_one_preferred_agent_at_its_starting_dose() -> None:
    cards = build_cards(TRD_MET, hook="patient-view", patient_id="p1")
    augment = next(c for c in cards if c["source"]["topic"]["code"] == "augment")
    assert augment["selectionBehavior"] == "at-most-one"
    first = augment["suggestions"][0]
    assert first["isRecommended"] is True
    assert sum(s.get("isRecommended", False) for s in augment["suggestions"]) == 1
    dose = first["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose == {"value": 2, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    t3 = augment["suggestions"][1]["actions"][0]["resource"]
    assert "coding" in t3["medicationCodeableConcept"]  # display only: no unverified code
    assert "code" not in t3["medicationCodeableConcept"]["coding"][0]
    assert t3["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["code"] == "ug"
    assert "under 25" in augment["detail"]


def test_uuids_are_stable_across_calls() -> None:
    first = build_cards(TRD_MET, hook="patient-view", patient_id="p1")
    second = build_cards(copy.deepcopy(TRD_MET), hook="patient-view", patient_id="p1")
    assert [c["uuid"] for c in first] == [c["uuid"] for c in second]


def test_no_signal_gives_no_cards() -> None:
    quiet = {"trdStatus": "not-met", "failedClasses": [], "trials": [], "suggestions": [],
             "safety": [], "crisis": False}
    assert build_cards(quiet, hook="patient-view") == []


def test_every_template_cites_an_absolute_source() -> None:
    data = content.content()
    for kind, text in data["cards"].items():
        src = content.source(text["source"], topic=kind)
        assert src["url"].startswith("https://"), kind
        assert text["indicator"] in {"info", "warning", "critical"}, kind


def test_validator_catches_what_the_spec_forbids() -> None:
    bad = {"summary": "x" * 140, "indicator": "urgent", "source": {"label": "s", "url": "/relative"},
           "suggestions": [{"label": "a", "actions": [{"type": "delete"}]}], "detail": ""}
    problems = card_problems(bad)
    for fragment in ("summary has 140", "indicator", "source.url", "selectionBehavior",
                     "description is required", "resourceId", "detail is empty"):
        assert any(fragment in p for p in problems), fragment
