"""Real-world coverage, second part: diagnoses coded in SNOMED CT through the published eCQM
value sets, unitless product doses, and decades-old "active" orders."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from trd_builders import AS_OF, RX, Data

from trd_cds.cards.builder import build_cards
from trd_cds.rules import TrdRules

SNOMED = "http://snomed.info/sct"
SERTRALINE_50_TAB = "312941"  # sertraline 50 MG Oral Tablet (antidepressant_products.csv)


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def snomed_patient(*codes: str) -> Data:
    d = Data()
    for code in codes:
        d.condition(code, SNOMED)
    return d


# MDD only in SNOMED CT, members of VSAC Major Depression (2.16.840.1.113883.3.464.1003.105.12.1007)
# that our own table does not list; Synthea writes 268621008 and 2618002.
@pytest.mark.parametrize("code", ["15193003", "191611001", "268621008", "2618002"])
def test_mdd_in_snomed_only_is_mdd(rules: TrdRules, code: str) -> None:
    got = rules.assess(snomed_patient(code).patient(), AS_OF)
    assert got["trdStatus"] != "no-mdd-diagnosis"


@pytest.mark.parametrize(("code", "psychotic"), [
    ("15193003", True),   # severe recurrent MDD with psychotic features, mood-incongruent
    ("28475009", True),   # severe recurrent MDD with psychotic features
    ("36474008", False),  # severe recurrent MDD without psychotic features
    ("191611001", False),
])
def test_psychotic_features_from_the_published_wording(rules: TrdRules, code: str,
                                                        psychotic: bool) -> None:
    got = rules.assess(snomed_patient(code).patient(), AS_OF)
    assert got["details"]["psychoticFeatures"] is psychotic


# Bipolar Disorder (2.16.840.1.113883.3.67.1.101.1.128), SNOMED CT only.
@pytest.mark.parametrize("code", ["10981006", "10875004", "12969000"])
def test_bipolar_in_snomed_only_is_excluded(rules: TrdRules, code: str) -> None:
    got = rules.assess(Data().mdd().condition(code, SNOMED).patient(), AS_OF)
    assert got["trdStatus"] == "excluded"


def sertraline_statement(dose: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "MedicationStatement", "id": "ms", "status": "completed",
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": SERTRALINE_50_TAB}]},
            "effectivePeriod": {"start": "2024-10-01", "end": "2025-01-31"},
            "dosage": [{"doseAndRate": [{"doseQuantity": dose}],
                        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}]}


def test_a_unitless_dose_of_a_product_is_units_of_the_product(rules: TrdRules) -> None:
    got = rules.assess(Data().mdd().add(sertraline_statement({"value": 2})).patient(), AS_OF)
    (trial,) = got["trials"]
    assert trial["maxDailyDoseMg"] == 100  # two 50 mg tablets a day


def test_a_large_unitless_number_is_not_read_as_tablets(rules: TrdRules) -> None:
    got = rules.assess(Data().mdd().add(sertraline_statement({"value": 100})).patient(), AS_OF)
    (trial,) = got["trials"]
    assert trial["maxDailyDoseMg"] is None and "dose-unknown" in trial["flags"]
    assert any(f["resource"] == "MedicationStatement/ms" and f["issue"] == "unknown-dose-unit"
               for f in got["dataQuality"])


def open_order(authored: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": "old", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": "36437"}]},
            "authoredOn": authored,
            "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg",
                                                                     "code": "mg"}}]}]}


def test_a_decades_old_active_order_is_not_a_current_trial(rules: TrdRules) -> None:
    got = rules.assess(Data().mdd().add(open_order("1936-05-01")).patient(), AS_OF)
    (trial,) = got["trials"]
    assert trial["end"] == "1936-05-01" and trial["outcome"] != "intolerance"
    assert {"resource": "MedicationRequest/old", "path": "MedicationRequest.status",
            "issue": "stale-active-order", "effect": "not-current"} in got["dataQuality"]


def test_an_old_active_order_with_a_recent_dispense_stays_current(rules: TrdRules) -> None:
    d = Data().mdd().add(open_order("2020-01-01")).dispense("sertraline", date(2025, 5, 1), 30)
    got = rules.assess(d.patient(), AS_OF)
    assert got["details"]["currentTrialIngredient"] == "sertraline"
    assert not any(f["issue"] == "stale-active-order" for f in got["dataQuality"])


def test_a_recent_active_order_is_current(rules: TrdRules) -> None:
    got = rules.assess(Data().mdd().add(open_order("2025-03-01")).patient(), AS_OF)
    assert got["details"]["currentTrialIngredient"] == "sertraline"
    assert got["trials"][0]["end"] == AS_OF.isoformat()


def phq9_total(value: dict[str, Any], when: str = "2025-05-20") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "phq", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
            "effectiveDateTime": when, **value}


def item9(value: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "i9", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "44260-8"}]},
            "effectiveDateTime": "2025-05-20", **value}


def baseline_of(rules: TrdRules, value: dict[str, Any]) -> Any:
    d = Data().mdd().add(sertraline_statement({"value": 2, "unit": "mg", "code": "mg"}))
    d.add(phq9_total(value, when="2024-09-25"))  # a week before the trial starts
    (trial,) = rules.assess(d.patient(), AS_OF)["details"]["trials"]
    return trial["baselineScore"]


def test_a_phq9_total_as_a_string_is_read(rules: TrdRules) -> None:
    assert baseline_of(rules, {"valueString": " 12"}) == 12


@pytest.mark.parametrize("text", ["12 (moderate)", "twelve"])
def test_a_phq9_text_that_is_not_a_number_is_not_read(rules: TrdRules, text: str) -> None:
    assert baseline_of(rules, {"valueString": text}) is None


def test_a_phq9_total_off_the_scale_is_not_used_and_reported(rules: TrdRules) -> None:
    assert baseline_of(rules, {"valueInteger": 28}) is None
    assert baseline_of(rules, {"valueInteger": 27}) == 27
    got = rules.assess(Data().mdd().add(phq9_total({"valueInteger": 300})).patient(), AS_OF)
    assert {"resource": "Observation/phq", "path": "Observation.value", "issue": "out-of-range",
            "effect": "not-used"} in got["dataQuality"]


def test_an_item9_answer_off_the_scale_is_not_used_and_reported(rules: TrdRules) -> None:
    got = rules.assess(Data().mdd().add(item9({"valueInteger": 7})).patient(), AS_OF)
    assert got["crisis"] is False
    assert {"resource": "Observation/i9", "path": "Observation.value", "issue": "out-of-range",
            "effect": "not-used"} in got["dataQuality"]


def test_an_item9_answer_as_a_string_raises_the_crisis_card(rules: TrdRules) -> None:
    got = rules.assess(Data().mdd().add(item9({"valueString": "2"})).patient(), AS_OF)
    assert got["crisis"] is True


def deceased_patient(**deceased: Any) -> Data:
    d = Data().mdd()
    d.items[0].update(deceased)
    d.med("sertraline", date(2024, 10, 1), None, 50)  # active, no end
    return d


def test_a_death_date_ends_the_trials_and_the_suggestions(rules: TrdRules) -> None:
    got = rules.assess(deceased_patient(deceasedDateTime="2025-01-15T10:00:00Z").patient(), AS_OF)
    assert got["suggestions"] == []
    assert got["details"]["deceased"] is True and got["details"]["deathDate"] == "2025-01-15"
    (trial,) = got["trials"]
    assert trial["end"] == "2025-01-15"
    cards = build_cards(got, hook="patient-view", patient_id="p")
    assert cards[0]["summary"] == ("Patient recorded as deceased on 2025-01-15: "
                                   "no treatment suggestions")
    assert not any(c.get("suggestions") for c in cards)


def test_age_stops_at_death(rules: TrdRules) -> None:
    d = deceased_patient(deceasedDateTime="2000-06-01")
    d.items[0]["birthDate"] = "1930-01-01"
    got = rules.assess(d.patient(), AS_OF)
    assert got["details"]["age"] == 70
    assert got["trials"] == []  # the course starts after the death
    assert {"resource": "MedicationStatement/r2", "path": "MedicationStatement",
            "issue": "after-death", "effect": "not-read"} in got["dataQuality"]


def test_deceased_boolean_without_a_date(rules: TrdRules) -> None:
    got = rules.assess(deceased_patient(deceasedBoolean=True).patient(), AS_OF)
    assert got["suggestions"] == [] and got["details"]["deathDate"] is None
    cards = build_cards(got, hook="patient-view", patient_id="p")
    assert cards[0]["summary"] == "Patient recorded as deceased: no treatment suggestions"


def test_deceased_false_changes_nothing(rules: TrdRules) -> None:
    alive = Data().mdd().med("sertraline", date(2025, 5, 1), None, 50)  # too short: extend
    told_alive = Data().mdd().med("sertraline", date(2025, 5, 1), None, 50)
    told_alive.items[0]["deceasedBoolean"] = False
    alive, told = (rules.assess(d.patient(), AS_OF) for d in (alive, told_alive))
    assert alive["suggestions"] == told["suggestions"] != []
    assert told["details"]["deceased"] is False


def dispense(when: str, days: int, quantity: dict[str, Any] | None) -> dict[str, Any]:
    return {"resourceType": "MedicationDispense", "status": "completed",
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": SERTRALINE_50_TAB}]},
            "whenHandedOver": when, "daysSupply": {"value": days, "unit": "d", "code": "d"},
            **({"quantity": quantity} if quantity else {})}


def test_dispenses_alone_form_the_trial(rules: TrdRules) -> None:
    d = Data().mdd()
    for when in ("2024-10-01", "2024-10-31", "2024-11-30"):
        d.add(dispense(when, 30, {"value": 60, "unit": "TAB"}))
    got = rules.assess(d.patient(), AS_OF)
    (trial,) = got["trials"]
    assert (trial["start"], trial["end"]) == ("2024-10-01", "2024-12-29")
    assert trial["maxDailyDoseMg"] == 100  # 60 x 50 mg over 30 days
    assert "from-dispenses" in trial["flags"]


def test_a_dispense_without_quantity_is_a_trial_of_unknown_dose(rules: TrdRules) -> None:
    got = rules.assess(Data().mdd().add(dispense("2024-10-01", 30, None)).patient(), AS_OF)
    (trial,) = got["trials"]
    assert trial["maxDailyDoseMg"] is None and "dose-unknown" in trial["flags"]
    assert any(f["path"] == "MedicationDispense.quantity" and f["issue"] == "dose-not-recorded"
               for f in got["dataQuality"])


def test_with_a_statement_dispenses_only_measure_adherence(rules: TrdRules) -> None:
    d = Data().mdd().add(sertraline_statement({"value": 2, "unit": "TAB"}))
    d.add(dispense("2024-10-01", 30, {"value": 60, "unit": "TAB"}))
    (trial,) = rules.assess(d.patient(), AS_OF)["trials"]
    assert "from-dispenses" not in trial["flags"]
    assert (trial["start"], trial["end"]) == ("2024-10-01", "2025-01-31")
