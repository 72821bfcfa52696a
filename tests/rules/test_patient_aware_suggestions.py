"""Suggestions that fit the patient in front of the prescriber: never what is taken now or
already failed or not tolerated; serotonin-syndrome pairs by pharmacology (bupropion is no
serotonergic partner); adherence and diagnostic review before escalation; the overdose
warning for TCAs and MAOIs with suicidality."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from trd_builders import AS_OF, RX, Data, met

from trd_cds.rules import TrdRules


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def statement(d: Data, rxcui: str, start: date, end: date | None, mg: float) -> Data:
    return d.add({"resourceType": "MedicationStatement", "status": "completed" if end else "active",
                  "medicationCodeableConcept": {"coding": [{"system": RX, "code": rxcui}]},
                  "effectivePeriod": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
                  "dosage": [{"doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "code": "mg"}}]}]})


def draft(oid: str, rxcui: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": oid, "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": rxcui}]}}


def assess(rules: TrdRules, d: Data) -> dict[str, Any]:
    return rules.assess(d.patient(), AS_OF)


def agents(got: dict[str, Any]) -> list[str]:
    return [a["agent"] for a in got["details"]["augmentationAgents"] or []]


def switches(got: dict[str, Any]) -> list[str]:
    return [c["ingredient"] for c in got["details"]["switchCandidates"] or []]


# ---- 1. never what the patient takes now or has failed or not tolerated -------------------

def test_current_aripiprazole_is_not_offered_again(rules: TrdRules) -> None:
    got = assess(rules, statement(met(), "89013", date(2025, 2, 1), None, 5))
    assert "augment" in got["suggestions"]
    assert "aripiprazole" not in agents(got)
    assert got["details"]["currentAugmenters"] == ["aripiprazole"]
    assert {"drug": "aripiprazole", "reason": "taking-now", "candidateOf": ["augment"]} in got["details"]["triedAgents"]


def test_current_lithium_is_not_offered_again(rules: TrdRules) -> None:
    got = assess(rules, met().med("lithium", date(2025, 2, 1), None, 600))
    assert "lithium" not in agents(got)
    assert got["details"]["currentAugmenters"] == ["lithium"]


def test_augmenter_stopped_in_the_episode_is_named_not_offered(rules: TrdRules) -> None:
    got = assess(rules, statement(met(), "89013", date(2024, 10, 1), date(2025, 1, 31), 5))
    assert "aripiprazole" not in agents(got)
    assert {"drug": "aripiprazole", "reason": "tried-in-episode", "candidateOf": ["augment"]} in got["details"]["triedAgents"]
    assert got["details"]["currentAugmenters"] == []


def test_not_tolerated_ssri_gives_way_to_another_ssri(rules: TrdRules) -> None:
    """Sertraline stopped at day 20 (intolerance), venlafaxine failed: the SSRI offered is
    escitalopram, not the sertraline the patient could not take."""
    d = Data().mdd("2024-01-01")
    d.med("sertraline", date(2024, 3, 1), date(2024, 3, 20), 50).phq9(date(2024, 3, 1), 20)
    d.med("venlafaxine", date(2024, 5, 1), date(2024, 8, 31), 150).phq9(date(2024, 4, 25), 20).phq9(date(2024, 8, 25), 19)
    got = assess(rules, d)
    assert "switch-class" in got["suggestions"]
    assert "sertraline" not in switches(got)
    assert switches(got)[0] == "escitalopram"
    assert {"drug": "sertraline", "reason": "not-tolerated", "candidateOf": ["switch-class"]} in got["details"]["triedAgents"]


# ---- 4. serotonin-syndrome pairs by pharmacology ------------------------------------------

@pytest.mark.parametrize(("first", "second", "fires"), [
    ("sertraline", "bupropion", False), ("venlafaxine", "bupropion", False),
    ("lithium", "mirtazapine", False), ("sertraline", "venlafaxine", True),
    ("sertraline", "lithium", True)])
def test_serotonin_syndrome_pairs(rules: TrdRules, first: str, second: str, fires: bool) -> None:
    d = Data().mdd()
    for drug in (first, second):
        if drug == "mirtazapine":
            statement(d, "15996", date(2025, 3, 1), None, 30)
        else:
            d.med(drug, date(2025, 3, 1), None, {"lithium": 600}.get(drug, 150))
    got = assess(rules, d)
    assert ("serotonergic-combination" in got["safety"]) is fires
    alerts = [a for a in got["details"]["currentDrugAlerts"] if a["ruleId"] == "serotonergic-combination"]
    assert bool(alerts) is fires


def test_bupropion_with_an_maoi_stays_forbidden(rules: TrdRules) -> None:
    d = Data().mdd().med("phenelzine", date(2025, 3, 1), None, 45)
    findings = rules.check_orders(d.patient(), AS_OF, [draft("d-bup", "42347")])["findings"]
    assert "maoi-serotonergic" in {f["ruleId"] for f in findings if f["orderId"] == "d-bup"}


def test_drafted_bupropion_beside_an_ssri_is_no_combination(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2025, 3, 1), None, 100)
    findings = rules.check_orders(d.patient(), AS_OF, [draft("d-bup", "42347"), draft("d-ven", "39786")])["findings"]
    combo = {(f["drug"], f.get("conflictsWith", {}).get("drug")) for f in findings
             if f["ruleId"] == "serotonergic-combination" and "conflictsWith" in f}
    assert ("bupropion", "sertraline") not in combo and ("venlafaxine", "bupropion") not in combo
    assert ("venlafaxine", "sertraline") in combo


# ---- 5. adherence and diagnostic review before escalation ---------------------------------

def test_poor_adherence_holds_back_switch_and_augmentation(rules: TrdRules) -> None:
    """TRD met (sertraline and bupropion failed), but the current venlafaxine was dispensed
    for a third of the days: adherence first, no switch or augmentation as an equal option."""
    d = Data().mdd("2023-06-01")
    d.med("sertraline", date(2023, 7, 1), date(2023, 10, 31), 100).phq9(date(2023, 7, 1), 20).phq9(date(2023, 10, 25), 19)
    d.med("bupropion", date(2023, 11, 10), date(2024, 3, 31), 300).phq9(date(2024, 3, 25), 19)
    d.med("venlafaxine", date(2024, 9, 10), None, 150).phq9(date(2025, 5, 20), 18)
    d.dispense("venlafaxine", date(2024, 9, 10), 90)
    got = assess(rules, d)
    current = next(t for t in got["trials"] if t["ingredient"] == "venlafaxine")
    assert "poor-adherence" in current["flags"]
    assert "address-adherence" in got["suggestions"]
    assert "augment" not in got["suggestions"] and "switch-class" not in got["suggestions"]
    assert got["trdStatus"] == "met"
    assert {"suggestion": "augment", "reason": "poor-adherence"} in got["details"]["heldBack"]


def test_alcohol_use_disorder_reviews_first_and_holds_back_bupropion(rules: TrdRules) -> None:
    got = assess(rules, met().condition("F10.20"))
    assert got["suggestions"][0] == "review-diagnosis"
    assert "bupropion" not in agents(got)
    assert {"drug": "bupropion", "rules": ["bupropion-alcohol"], "suggestion": "augment"} in got["details"]["removedCandidates"]
    assert "bupropion-alcohol" in got["safety"]


def test_other_substance_use_keeps_bupropion(rules: TrdRules) -> None:
    got = assess(rules, met().condition("F12.20"))
    assert got["suggestions"][0] == "review-diagnosis"
    assert "bupropion" in agents(got)


def test_hypothyroidism_holds_back_liothyronine(rules: TrdRules) -> None:
    got = assess(rules, met().condition("E03.9"))
    assert got["suggestions"][0] == "review-diagnosis"
    assert "liothyronine" not in agents(got)
    assert {"drug": "liothyronine", "rules": ["liothyronine-hypothyroidism"], "suggestion": "augment"} in got["details"]["removedCandidates"]


# ---- 2. TCAs and MAOIs with suicidality ---------------------------------------------------

def test_tca_switch_with_suicidality_carries_the_overdose_warning(rules: TrdRules) -> None:
    d = met().phq9(AS_OF - timedelta(days=3), 1, item9=True)
    got = assess(rules, d)
    assert got["crisis"] is True
    tca = [c for c in got["details"]["switchCandidates"] if c["drugClass"] == "TCA"]
    assert tca and all(c["overdoseWarning"] for c in tca)
    assert all(not c["overdoseWarning"] for c in got["details"]["switchCandidates"] if c["drugClass"] != "TCA")
    # Behind every safer class.
    classes = [c["drugClass"] for c in got["details"]["switchCandidates"]]
    assert classes.index("TCA") == len(classes) - 1
    assert "overdose-lethality" in got["safety"]
    assert "overdose-lethality" not in assess(rules, met())["safety"]


def test_drafted_tca_with_suicidality_is_flagged(rules: TrdRules) -> None:
    d = met().phq9(AS_OF - timedelta(days=3), 2, item9=True)
    findings = rules.check_orders(d.patient(), AS_OF, [draft("d-tca", "5691")])["findings"]
    assert ("overdose-lethality", "d-tca") in {(f["ruleId"], f["orderId"]) for f in findings}
    calm = rules.check_orders(met().patient(), AS_OF, [draft("d-tca", "5691")])["findings"]
    assert "overdose-lethality" not in {f["ruleId"] for f in calm}


# ---- 7. renal dosing with eGFR below 30 ----------------------------------------------------

def with_egfr(d: Data, egfr: float) -> Data:
    return d.observation("98979-8", AS_OF - timedelta(days=5), egfr, "mL/min/{1.73_m2}")


@pytest.mark.parametrize(("egfr", "flagged"), [(25, True), (30, False)])
def test_current_duloxetine_with_severe_renal_impairment(rules: TrdRules, egfr: float, flagged: bool) -> None:
    d = with_egfr(statement(Data().mdd(), "72625", date(2025, 3, 1), None, 60), egfr)
    got = assess(rules, d)
    alerts = [a for a in got["details"]["currentDrugAlerts"] if a["ruleId"] == "renal-dose"]
    assert bool(alerts) is flagged
    assert ("renal-dose" in got["safety"]) is flagged
    if flagged:
        assert alerts[0]["drugs"] == ["duloxetine"]
        assert any(r["drug"] == "duloxetine" and "avoid" in r["advice"] for r in got["details"]["renalDosing"])


def failed_sertraline() -> Data:
    d = Data().mdd()
    return d.med("sertraline", date(2024, 6, 1), date(2024, 8, 31), 100).phq9(date(2024, 6, 1), 20).phq9(date(2024, 8, 25), 19)


def test_venlafaxine_switch_states_the_renal_reduction(rules: TrdRules) -> None:
    got = assess(rules, with_egfr(failed_sertraline(), 22))
    venlafaxine = next(c for c in got["details"]["switchCandidates"] if c["ingredient"] == "venlafaxine")
    assert "50%" in venlafaxine["renalAdvice"]
    plain = assess(rules, failed_sertraline())
    assert all(c["renalAdvice"] is None for c in plain["details"]["switchCandidates"])


def test_desvenlafaxine_is_not_raised_past_its_renal_maximum(rules: TrdRules) -> None:
    d = with_egfr(statement(Data().mdd(), "734064", date(2025, 3, 1), None, 25), 20)
    got = assess(rules, d)
    assert "optimize-dose" not in got["suggestions"]
    assert {"drug": "desvenlafaxine", "rules": ["renal-dose"], "suggestion": "optimize-dose"} in got["details"]["removedCandidates"]
    normal = assess(rules, statement(Data().mdd(), "734064", date(2025, 3, 1), None, 25))
    assert "optimize-dose" in normal["suggestions"]


def test_drafted_duloxetine_with_severe_renal_impairment(rules: TrdRules) -> None:
    d = with_egfr(Data().mdd(), 18)
    findings = rules.check_orders(d.patient(), AS_OF, [draft("d-dul", "72625")])["findings"]
    assert ("renal-dose", "d-dul") in {(f["ruleId"], f["orderId"]) for f in findings}


# ---- 6. psychotic depression ---------------------------------------------------------------

def test_psychotic_depression_no_esketamine_no_add_on_doses(rules: TrdRules) -> None:
    got = assess(rules, met().condition("F33.3"))
    assert got["suggestions"][0] == "ect"
    assert "esketamine" not in got["suggestions"] and "augment" not in got["suggestions"]
    assert {"suggestion": "augment", "reason": "psychotic-features"} in got["details"]["heldBack"]
    assert "esketamine" in assess(rules, met())["suggestions"]
