"""Safety cards of drafted orders: one card per rule (CDS Hooks: one concern, one card), worded
for the side of the combination each drafted drug is on, and removals applied to the offers."""

from __future__ import annotations

import copy
from typing import Any

from test_card_validity import TRD_MET

from trd_cds.cards.builder import build_cards, safety_cards
from trd_cds.cards.validate import response_problems


def finding(rule: str, drug: str, order: str = "d1", **extra: Any) -> dict[str, Any]:
    return {"ruleId": rule, "indicator": "critical", "orderId": order, "drug": drug,
            "washoutDaysLeft": None, "dailyDoseMg": None, **extra}


def partner(drug: str, role: str, drafted: bool = False) -> dict[str, Any]:
    return {"drug": drug, "role": role, "drafted": drafted}


def test_one_card_per_rule_worded_for_each_side() -> None:
    findings = [
        finding("maoi-serotonergic", "phenelzine", "d1"),
        finding("maoi-serotonergic", "phenelzine", "d1", conflictsWith=partner("sertraline", "serotonergic", True)),
        finding("maoi-serotonergic", "phenelzine", "d1", conflictsWith=partner("tramadol", "serotonergic")),
        finding("maoi-serotonergic", "sertraline", "d2"),
        finding("maoi-serotonergic", "sertraline", "d2", conflictsWith=partner("phenelzine", "MAOI", True)),
    ]
    cards = safety_cards(findings)
    assert len(cards) == 1
    detail = cards[0]["detail"]
    assert ("The drafted MAOI **phenelzine** would be taken with the serotonergic sertraline "
            "(also drafted) and tramadol (taken now).") in detail
    assert "The drafted **sertraline** is serotonergic and would be taken with the MAOI phenelzine" in detail
    assert "with an MAOI" not in cards[0]["summary"]


def test_long_drug_lists_keep_the_summary_under_140() -> None:
    drugs = ["sertraline", "escitalopram", "fluoxetine", "venlafaxine", "duloxetine", "vortioxetine"]
    findings = [finding("maoi-serotonergic", d, f"d{n}", conflictsWith=partner("tranylcypromine", "MAOI"))
                for n, d in enumerate(drugs)]
    cards = safety_cards(findings)
    assert response_problems({"cards": cards}) == []
    assert cards[0]["summary"].startswith("MAOI with a serotonergic drug in the drafted orders")


def test_removal_findings_make_no_card_and_drop_the_offer() -> None:
    removal = finding("maoi-serotonergic", "phenelzine",
                      removesSuggestion={"drug": "bupropion", "suggestion": "switch-class"})
    assert safety_cards([removal]) == []
    cards = build_cards(TRD_MET, hook="order-sign", order_check={"findings": [removal], "drafts": []}, patient_id="p1")
    # bupropion was the only switch option of TRD_MET: the whole card goes.
    assert "switch-class" not in [c["source"]["topic"]["code"] for c in cards]
    view = build_cards(TRD_MET, hook="patient-view", order_check={"findings": [removal], "drafts": []}, patient_id="p1")
    assert "switch-class" in [c["source"]["topic"]["code"] for c in view]


def test_removed_augmentation_agent_is_named_on_the_card() -> None:
    removal = finding("maoi-serotonergic", "phenelzine",
                      removesSuggestion={"drug": "aripiprazole", "suggestion": "augment"})
    cards = build_cards(TRD_MET, hook="order-select", order_check={"findings": [removal], "drafts": []}, patient_id="p1")
    augment = next(c for c in cards if c["source"]["topic"]["code"] == "augment")
    labels = [s["label"] for s in augment["suggestions"]]
    assert labels == ["Add liothyronine 25 mcg/day"]
    assert augment["suggestions"][0]["isRecommended"] is True
    assert "Not offered because of the drafted phenelzine: aripiprazole." in augment["detail"]


def test_drafted_lithium_with_low_egfr_says_so() -> None:
    assessment = copy.deepcopy(TRD_MET)
    assessment["details"]["latestEGFR"] = 24
    lithium = dict(finding("lithium-monitoring", "lithium"), indicator="warning")
    card = safety_cards([lithium], assessment["details"])[0]
    assert card["summary"] == "Lithium drafted with eGFR 24: not suggested below 30"
    assert "**The latest eGFR is 24**" in card["detail"]
    plain = safety_cards([dict(lithium, indicator="info")], assessment["details"])[0]
    assert plain["summary"].startswith("Lithium: check serum level") and "latest eGFR" not in plain["detail"]
