"""Drafted orders count like current drugs (order-select / order-sign): check_orders reports
the candidates of the cached, draft-free assessment that the drafts rule out, and checks the
drafts against each other as well as against the record."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from trd_builders import AS_OF, RX, Data, met

from trd_cds.rules import TrdRules

PLAIN_KEYS = {"ruleId", "indicator", "orderId", "drug", "washoutDaysLeft", "dailyDoseMg"}


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def stage_three() -> Data:
    """SSRI, SNRI and TCA failed, the TCA stopped 60 days ago: phenelzine is a switch option."""
    d = Data().mdd("2023-06-01")
    d.med("sertraline", date(2024, 1, 1), date(2024, 3, 31), 100).phq9(date(2024, 1, 1), 21).phq9(date(2024, 3, 25), 20)
    d.med("venlafaxine", date(2024, 4, 10), date(2024, 7, 31), 150).phq9(date(2024, 7, 25), 19)
    d.add({"resourceType": "MedicationStatement", "status": "completed",
           "medicationCodeableConcept": {"coding": [{"system": RX, "code": "5691"}]},
           "effectivePeriod": {"start": "2025-01-02", "end": "2025-04-02"},
           "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 200, "unit": "mg", "code": "mg"}}]}]})
    return d.phq9(date(2025, 1, 2), 20).phq9(date(2025, 3, 28), 19)


def draft(oid: str, rxcui: str, display: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": oid, "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": rxcui, "display": display}]}}


PHENELZINE = draft("d-mao", "8123", "phenelzine")
SERTRALINE = draft("d-ssri", "36437", "sertraline")


def removals(findings: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(f["removesSuggestion"]["suggestion"], f["removesSuggestion"]["drug"], f["ruleId"])
            for f in findings if "removesSuggestion" in f}


def test_drafted_maoi_rules_out_every_serotonergic_candidate(rules: TrdRules) -> None:
    patient = met().patient()
    assessment = rules.assess(patient, AS_OF)
    assert "bupropion" in [a["agent"] for a in assessment["details"]["augmentationAgents"]]
    findings = rules.check_orders(patient, AS_OF, [PHENELZINE])["findings"]
    assert removals(findings) >= {
        ("augment", "bupropion", "maoi-serotonergic"), ("augment", "bupropion", "bupropion-seizure"),
        ("switch-class", "bupropion", "maoi-serotonergic"),
        ("switch-class", "mirtazapine", "maoi-serotonergic"),
        ("switch-class", "vortioxetine", "maoi-serotonergic"),
        ("switch-class", "imipramine", "maoi-serotonergic")}
    assert all(s != "esketamine" and d not in {"aripiprazole", "lithium"}
               for s, d, _ in removals(findings))
    removal = next(f for f in findings if "removesSuggestion" in f)
    assert (removal["orderId"], removal["drug"], removal["indicator"]) == ("d-mao", "phenelzine", "critical")
    # The cached assessment is unchanged by the hook's drafts.
    assert rules.assess(patient, AS_OF) == assessment


def test_drafted_ssri_rules_out_the_maoi_switch(rules: TrdRules) -> None:
    patient = stage_three().patient()
    offered = [c["ingredient"] for c in rules.assess(patient, AS_OF)["details"]["switchCandidates"]]
    assert "phenelzine" in offered
    findings = rules.check_orders(patient, AS_OF, [SERTRALINE])["findings"]
    assert ("switch-class", "phenelzine", "maoi-serotonergic") in removals(findings)


def test_a_harmless_draft_removes_nothing(rules: TrdRules) -> None:
    findings = rules.check_orders(met().patient(), AS_OF, [draft("d-ari", "89013", "aripiprazole")])["findings"]
    assert findings == []


def test_removal_only_for_what_the_record_still_allows(rules: TrdRules) -> None:
    patient = met().condition("G40.909").patient()  # bupropion already blocked by the record
    findings = rules.check_orders(patient, AS_OF, [PHENELZINE])["findings"]
    assert not any(d == "bupropion" for _, d, _ in removals(findings))
    assert ("switch-class", "mirtazapine", "maoi-serotonergic") in removals(findings)


def test_two_drafts_are_checked_against_each_other(rules: TrdRules) -> None:
    findings = rules.check_orders(Data().mdd().patient(), AS_OF, [PHENELZINE, SERTRALINE])["findings"]
    plain = [f for f in findings if set(f) == PLAIN_KEYS]
    assert {(f["ruleId"], f["drug"]) for f in plain} >= {
        ("maoi-serotonergic", "phenelzine"), ("maoi-serotonergic", "sertraline")}
    partners = {(f["drug"], f["conflictsWith"]["drug"], f["conflictsWith"]["role"],
                 f["conflictsWith"]["drafted"]) for f in findings if "conflictsWith" in f}
    assert partners == {("phenelzine", "sertraline", "serotonergic", True),
                        ("sertraline", "phenelzine", "MAOI", True)}


def test_findings_keep_their_six_keys_plus_at_most_one_part(rules: TrdRules) -> None:
    findings = rules.check_orders(met().patient(), AS_OF, [PHENELZINE])["findings"]
    for f in findings:
        assert set(f) >= PLAIN_KEYS and len(set(f) - PLAIN_KEYS) <= 1


@pytest.mark.parametrize(("egfr", "indicator"), [(25, "warning"), (60, "info")])
def test_drafted_lithium_with_low_egfr_is_a_warning(rules: TrdRules, egfr: float, indicator: str) -> None:
    d = met().observation("98979-8", date(2025, 5, 20), egfr, "mL/min/{1.73_m2}")
    findings = rules.check_orders(d.patient(), AS_OF, [draft("d-li", "6448", "lithium")])["findings"]
    lithium = [f for f in findings if f["ruleId"] == "lithium-monitoring"]
    assert [f["indicator"] for f in lithium] == [indicator]
