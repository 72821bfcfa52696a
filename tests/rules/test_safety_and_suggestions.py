"""Safety rules (RULES.md §9) and suggestion logic (§8, §12) on small patients."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from trd_builders import AS_OF, Data

from trd_cds.rules import TrdRules


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def met(birth: str = "1980-01-01") -> Data:
    """Failed SSRI and SNRI trials, the SNRI current: TRD met."""
    d = Data(birth).mdd()
    d.med("sertraline", date(2024, 6, 1), date(2024, 8, 31), 100).phq9(date(2024, 6, 1), 20).phq9(date(2024, 8, 25), 19)
    d.med("venlafaxine", date(2024, 9, 10), None, 150).phq9(date(2025, 5, 20), 18)
    return d


def assess(rules: TrdRules, d: Data) -> dict[str, Any]:
    return rules.assess(d.patient(), AS_OF)


def test_met_baseline(rules: TrdRules) -> None:
    got = assess(rules, met())
    assert got["trdStatus"] == "met"
    assert got["suggestions"] == ["augment", "switch-class", "psychotherapy", "ect", "esketamine"]
    assert "lithium" in [a["agent"] for a in got["details"]["augmentationAgents"]]


@pytest.mark.parametrize(("egfr", "lithium_offered"), [(29, False), (30, True), (31, True)])
def test_lithium_needs_egfr_30(rules: TrdRules, egfr: float, lithium_offered: bool) -> None:
    d = met().observation("98979-8", AS_OF - timedelta(days=3), egfr, "mL/min/{1.73_m2}")
    got = assess(rules, d)
    agents = [a["agent"] for a in got["details"]["augmentationAgents"]]
    assert ("lithium" in agents) is lithium_offered
    assert "lithium-monitoring" in got["safety"]  # offered with monitoring, or removed
    assert got["details"]["latestEGFR"] == egfr


@pytest.mark.parametrize(("systolic", "esketamine"), [(139, True), (140, False), (150, False)])
def test_esketamine_uncontrolled_hypertension(rules: TrdRules, systolic: float, esketamine: bool) -> None:
    d = met().observation("8480-6", AS_OF - timedelta(days=1), systolic, "mm[Hg]")
    got = assess(rules, d)
    assert ("esketamine" in got["suggestions"]) is esketamine
    assert ("esketamine-contraindication" in got["safety"]) is not esketamine


def test_esketamine_contraindicated_by_aortic_aneurysm(rules: TrdRules) -> None:
    got = assess(rules, met().condition("I71.4"))
    assert "esketamine" not in got["suggestions"]
    assert "esketamine-contraindication" in got["safety"]


def test_esketamine_needs_an_adult(rules: TrdRules) -> None:
    got = assess(rules, met(birth="2008-01-01"))
    assert "esketamine" not in got["suggestions"]
    assert "young-adult" in got["safety"]


def test_older_adult_never_offered_a_tca(rules: TrdRules) -> None:
    got = assess(rules, met(birth="1950-01-01"))
    classes = [c["drugClass"] for c in got["details"]["switchCandidates"]]
    assert "TCA" not in classes
    assert {"drug": "imipramine", "rules": ["older-adult"], "suggestion": "switch-class"} in got["details"]["removedCandidates"]
    assert "older-adult" in got["safety"]


@pytest.mark.parametrize(("birth", "mg", "fires"), [
    ("1980-01-01", 40, False), ("1980-01-01", 60, True),
    ("1960-01-01", 20, False), ("1960-01-01", 30, True)])
def test_citalopram_dose(rules: TrdRules, birth: str, mg: float, fires: bool) -> None:
    d = Data(birth).mdd().med("citalopram", date(2025, 3, 1), None, mg)
    assert ("citalopram-dose" in assess(rules, d)["safety"]) is fires


def test_current_bupropion_with_seizure_disorder(rules: TrdRules) -> None:
    d = Data().mdd().condition("G40.909").med("bupropion", date(2025, 3, 1), None, 300)
    assert "bupropion-seizure" in assess(rules, d)["safety"]


def test_substance_use_asks_for_diagnostic_review(rules: TrdRules) -> None:
    d = met().condition("F10.20")
    assert "review-diagnosis" in assess(rules, d)["suggestions"]


def test_no_treatment_suggestion_without_mdd(rules: TrdRules) -> None:
    d = Data().med("sertraline", date(2025, 1, 1), None, 20).condition("F10.20")
    got = assess(rules, d)
    assert got["trdStatus"] == "no-mdd-diagnosis"
    assert got["suggestions"] == []


def test_interacting_drug_is_a_finding_not_a_failure(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2025, 1, 1), None, 100).med("carbamazepine", date(2025, 2, 1), None, 400)
    trial = assess(rules, d)["trials"][0]
    assert trial["flags"] == ["interacting-drug"]
    assert trial["adequate"] is True


def test_record_without_dose_counts_for_duration(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2025, 1, 1), date(2025, 3, 31), 100)
    d.items[-1].pop("dosage")
    trial = assess(rules, d)["trials"][0]
    assert trial["flags"] == ["dose-unknown"]
    assert trial["maxDailyDoseMg"] is None and trial["adequate"] is False
    assert trial["start"] == "2025-01-01" and trial["end"] == "2025-03-31"


def test_twelve_hourly_and_weekly_timing(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2025, 1, 1), date(2025, 3, 31), 50)
    d.items[-1]["dosage"][0]["timing"] = {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}}
    assert assess(rules, d)["trials"][0]["maxDailyDoseMg"] == 100
    d.items[-1]["dosage"][0]["timing"] = {"repeat": {"frequency": 7, "period": 1, "periodUnit": "wk"}}
    assert assess(rules, d)["trials"][0]["maxDailyDoseMg"] == 50


def test_branded_product_matched_by_name(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2025, 1, 1), None, 100)
    d.items[-1]["medicationCodeableConcept"] = {"coding": [{
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "208161",
        "display": "Zoloft 100 MG Oral Tablet [sertraline]"}]}
    assert assess(rules, d)["trials"][0]["ingredient"] == "sertraline"


def test_escitalopram_is_not_citalopram(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2025, 1, 1), None, 10)
    d.items[-1]["medicationCodeableConcept"] = {"text": "Escitalopram 10 mg tablet"}
    assert assess(rules, d)["trials"][0]["ingredient"] == "escitalopram"


def test_lack_of_efficacy_reason(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2024, 9, 1), date(2024, 12, 31), 100, status="stopped")
    d.items[-1]["statusReason"] = [{"text": "Drug ineffective"}]
    trial = assess(rules, d)["trials"][0]
    assert (trial["outcome"], trial["outcomeInferred"], trial["failed"]) == ("non-response", True, True)


def test_augmentation_while_running_infers_non_response(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2024, 9, 1), None, 100)
    d.add({"resourceType": "MedicationStatement", "status": "active",
           "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "89013"}]},
           "effectivePeriod": {"start": "2025-01-15"}})
    trial = assess(rules, d)["trials"][0]
    assert (trial["outcome"], trial["outcomeInferred"]) == ("non-response", True)


def test_timing_code_tid(rules: TrdRules) -> None:
    d = Data().mdd().med("sertraline", date(2025, 1, 1), date(2025, 3, 31), 25)
    d.items[-1]["dosage"][0]["timing"] = {"code": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": "TID"}]}}
    assert assess(rules, d)["trials"][0]["maxDailyDoseMg"] == 75


def test_item9_in_a_phq9_panel(rules: TrdRules) -> None:
    d = Data().mdd().add({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44249-1"}]},
        "effectiveDateTime": "2025-05-30",
        "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "44260-8"}]},
                       "valueInteger": 1}]})
    got = assess(rules, d)
    assert got["crisis"] is True
    assert got["details"]["crisisItem9"] == {"takenOn": "2025-05-30", "score": 1}


def test_amended_status_counts_preliminary_does_not(rules: TrdRules) -> None:
    d = Data().mdd().phq9(AS_OF, 2, item9=True)
    d.items[-1]["status"] = "preliminary"
    assert assess(rules, d)["crisis"] is False
    d.items[-1]["status"] = "amended"
    assert assess(rules, d)["crisis"] is True


def request(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "intent": "order",
            "medicationCodeableConcept": {"coding": [{
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "36437"}]},
            "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg", "code": "mg"}}]}],
            **fields}


@pytest.mark.parametrize(("fields", "start", "end"), [
    ({"status": "completed", "authoredOn": "2025-01-01",
      "dispenseRequest": {"validityPeriod": {"start": "2025-01-01", "end": "2025-03-01"}}}, "2025-01-01", "2025-03-01"),
    ({"status": "completed", "authoredOn": "2025-01-01",
      "dispenseRequest": {"expectedSupplyDuration": {"value": 4, "unit": "weeks", "code": "wk"}}}, "2025-01-01", "2025-01-28"),
    ({"status": "active", "authoredOn": "2025-04-01"}, "2025-04-01", "2025-06-01"),
    ({"status": "draft", "authoredOn": "2025-04-01"}, None, None),
    ({"status": "active", "intent": "proposal", "authoredOn": "2025-04-01"}, None, None),
])
def test_medication_request_as_a_record(rules: TrdRules, fields: dict[str, Any], start: str | None,
                                        end: str | None) -> None:
    got = assess(rules, Data().mdd().add(request(**fields)))
    if start is None:
        assert got["trials"] == []
    else:
        assert (got["trials"][0]["start"], got["trials"][0]["end"]) == (start, end)
