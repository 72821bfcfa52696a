"""Shapes real EHRs send that the project's own generators never did: unit forms, Medication
references with strengths, timing words, dose ranges, partial dates. Each is read as the
clinical decision next to the CQL says, and what cannot be read is reported in dataQuality."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from trd_builders import AS_OF, CODES, RX, Data

from trd_cds.cards.builder import build_cards
from trd_cds.rules import TrdRules

SERTRALINE_50_TAB = "312941"  # sertraline 50 MG Oral Tablet (antidepressant_products.csv)
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
DRUG_FORM = "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def statement(dose: dict[str, Any] | None, *, medication: dict[str, Any] | None = None,
              start: str = "2024-10-01", end: str | None = "2025-01-31",
              timing: dict[str, Any] | None = None) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    if dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    if timing is not None:
        dosage["timing"] = timing
    return {
        "resourceType": "MedicationStatement", "id": "ms", "status": "completed",
        **(medication or {"medicationCodeableConcept": {
            "coding": [{"system": RX, "code": SERTRALINE_50_TAB}]}}),
        "effectivePeriod": {"start": start, **({"end": end} if end else {})},
        "dosage": [dosage],
    }


def assess(rules: TrdRules, *resources: dict[str, Any], birth: str = "1980-01-01",
           as_of: date = AS_OF) -> dict[str, Any]:
    d = Data(birth).mdd()
    for r in resources:
        d.add(r)
    return rules.assess(d.patient(), as_of)


def only_trial(assessment: dict[str, Any]) -> dict[str, Any]:
    trials = assessment["trials"]
    assert len(trials) == 1, trials
    return dict(trials[0])


@pytest.mark.parametrize("quantity", [
    {"value": 2, "unit": "{tbl}", "system": UCUM, "code": "{tbl}"},
    {"value": 2, "unit": "tablet", "system": UCUM, "code": "{tablet}"},
    {"value": 2, "unit": "capsule", "system": UCUM, "code": "{capsule}"},
    {"value": 2, "unit": "Tablet", "system": SNOMED, "code": "732936001"},
    {"value": 2, "unit": "tablet", "system": SNOMED, "code": "428673006"},
    {"value": 2, "unit": "TAB", "system": DRUG_FORM, "code": "TAB"},
    {"value": 2, "unit": "tablet(s)"},
    {"value": 2, "unit": " Tablets "},
    {"value": 2, "unit": "Tablet, film coated"},
    {"value": 100, "unit": "milligram", "system": SNOMED, "code": "258684004"},
    {"value": 0.1, "unit": "g", "system": UCUM, "code": "g"},
    {"value": 100, "unit": "MG"},
], ids=lambda q: str(q.get("code") or q["unit"]))
def test_unit_forms_of_one_unit_of_the_product_and_of_mass(rules: TrdRules,
                                                            quantity: dict[str, Any]) -> None:
    trial = only_trial(assess(rules, statement(quantity)))
    assert trial["ingredient"] == "sertraline"
    assert trial["maxDailyDoseMg"] == 100  # 2 x 50 mg tablets, or 100 mg
    assert "dose-unknown" not in trial["flags"]


def test_a_unit_outside_the_table_is_dose_unknown_and_reported(rules: TrdRules) -> None:
    assessment = assess(rules, statement({"value": 2, "unit": "scoops", "code": "scoop"}))
    trial = only_trial(assessment)
    assert trial["maxDailyDoseMg"] is None and "dose-unknown" in trial["flags"]
    assert {"resource": "MedicationStatement/ms", "path": "MedicationStatement.dosage.doseAndRate.dose",
            "issue": "unknown-dose-unit", "effect": "dose-unknown"} in assessment["dataQuality"]


def test_a_word_containing_cap_is_not_a_capsule(rules: TrdRules) -> None:
    # "capful" is a volume of liquid, not one capsule: the old substring match read it as one.
    trial = only_trial(assess(rules, statement({"value": 1, "unit": "capful"})))
    assert trial["maxDailyDoseMg"] is None


@pytest.mark.parametrize("contained", [True, False])
def test_medication_reference_strength_from_the_medication(rules: TrdRules, contained: bool) -> None:
    medication = {
        "resourceType": "Medication", "id": "med1",
        "code": {"text": "Sertraline tablets"},
        "ingredient": [{
            "itemCodeableConcept": {"coding": [{"system": RX, "code": CODES["sertraline"]}]},
            "strength": {"numerator": {"value": 25, "unit": "mg", "system": UCUM, "code": "mg"},
                         "denominator": {"value": 1, "unit": "tablet", "system": UCUM, "code": "{tbl}"}},
        }],
    }
    ms = statement({"value": 4, "unit": "{tbl}", "system": UCUM, "code": "{tbl}"},
                   medication={"medicationReference": {"reference": "#m" if contained else "Medication/med1"}})
    if contained:
        ms["contained"] = [{**medication, "id": "m"}]
        resources: tuple[dict[str, Any], ...] = (ms,)
    else:
        resources = (ms, medication)
    trial = only_trial(assess(rules, *resources))
    assert trial["ingredient"] == "sertraline"
    assert trial["maxDailyDoseMg"] == 100


def test_an_oral_solution_strength_per_ml(rules: TrdRules) -> None:
    medication = {"resourceType": "Medication", "id": "sol", "code": {"text": "sertraline oral solution"},
                  "ingredient": [{"itemCodeableConcept": {"text": "sertraline"},
                                  "strength": {"numerator": {"value": 100, "code": "mg", "system": UCUM},
                                               "denominator": {"value": 5, "code": "mL", "system": UCUM}}}]}
    ms = statement({"value": 5, "unit": "mL", "system": UCUM, "code": "mL"},
                   medication={"medicationReference": {"reference": "Medication/sol"}})
    assert only_trial(assess(rules, ms, medication))["maxDailyDoseMg"] == 100


def test_a_reference_to_nothing_is_reported(rules: TrdRules) -> None:
    ms = statement({"value": 100, "unit": "mg"},
                   medication={"medicationReference": {"reference": "Medication/missing"}})
    assessment = assess(rules, ms)
    assert assessment["trials"] == []
    assert {"resource": "MedicationStatement/ms", "path": "MedicationStatement.medicationReference",
            "issue": "unresolved-medication", "effect": "not-read"} in assessment["dataQuality"]


@pytest.mark.parametrize(("timing", "mg"), [
    ({"code": {"text": "twice daily"}}, 200),
    ({"code": {"coding": [{"code": "BID"}]}}, 200),
    ({"code": {"text": "Once daily at bedtime"}}, 100),
    ({"repeat": {"frequency": 1, "period": 86400, "periodUnit": "s"}}, 100),
])
def test_timing_codes_and_words(rules: TrdRules, timing: dict[str, Any], mg: int) -> None:
    ms = statement({"value": 100, "unit": "mg", "code": "mg"}, timing=timing)
    assert only_trial(assess(rules, ms))["maxDailyDoseMg"] == mg


@pytest.mark.parametrize("words", ["as directed by the clinic", "every morning and evening",
                                   "daily or twice daily"])
def test_a_timing_that_names_no_frequency_leaves_the_dose_unknown(rules: TrdRules,
                                                                  words: str) -> None:
    ms = statement({"value": 100, "unit": "mg", "code": "mg"}, timing={"code": {"text": words}})
    assessment = assess(rules, ms)
    assert only_trial(assessment)["maxDailyDoseMg"] is None
    assert any(f["issue"] == "unreadable-timing" for f in assessment["dataQuality"])


def test_a_dose_range_counts_by_its_low_end(rules: TrdRules) -> None:
    ms = statement(None)
    ms["dosage"] = [{"doseAndRate": [{"doseRange": {"low": {"value": 1, "unit": "tablet"},
                                                    "high": {"value": 2, "unit": "tablet"}}}]}]
    assert only_trial(assess(rules, ms))["maxDailyDoseMg"] == 50


def test_a_dosage_without_dose_is_reported_and_carded(rules: TrdRules) -> None:
    ms = statement(None)
    ms["dosage"] = [{"text": "take as directed"}]
    assessment = assess(rules, ms)
    assert "dose-unknown" in only_trial(assessment)["flags"]
    assert {"resource": "MedicationStatement/ms", "path": "MedicationStatement.dosage",
            "issue": "dose-not-recorded", "effect": "dose-unknown"} in assessment["dataQuality"]
    cards = build_cards(assessment, hook="patient-view", patient_id="p")
    summaries = [c["summary"] for c in cards]
    assert "Dose not recorded for sertraline: adequacy cannot be judged" in summaries
    assert "1 record element could not be fully used by the TRD rules" in summaries


def test_partial_start_reads_as_its_last_day_and_flags_the_trial(rules: TrdRules) -> None:
    # 2024-10 .. 2024-11-11: the shortest course is 31 Oct to 11 Nov (12 days), not 42.
    ms = statement({"value": 100, "unit": "mg", "code": "mg"}, start="2024-10", end="2024-11-11")
    assessment = assess(rules, ms)
    trial = only_trial(assessment)
    assert trial["start"] == "2024-10-31"
    assert "date-imprecise" in trial["flags"] and "too-short" in trial["flags"]
    assert {"resource": "MedicationStatement/ms", "path": "MedicationStatement.effectivePeriod.start",
            "issue": "partial-date", "effect": "read-conservatively"} in assessment["dataQuality"]


def test_partial_end_reads_as_its_first_day(rules: TrdRules) -> None:
    ms = statement({"value": 100, "unit": "mg", "code": "mg"}, start="2024-10-01", end="2024-12")
    trial = only_trial(assess(rules, ms))
    assert trial["end"] == "2024-12-01"
    assert trial["daysAtAdequateDose"] == 62


def test_a_year_only_start_in_this_year_is_not_in_the_future(rules: TrdRules) -> None:
    ms = statement({"value": 100, "unit": "mg", "code": "mg"}, start="2025", end=None)
    ms["status"] = "active"
    trial = only_trial(assess(rules, ms))
    assert trial["start"] == AS_OF.isoformat() and "date-imprecise" in trial["flags"]


def test_year_only_birth_date_age_uncertain_and_the_careful_bound(rules: TrdRules) -> None:
    # Born in 1960: 64 or 65 at the trial start of 2025-01-05; the older-adult course (56 days)
    # applies because the patient may be 65.
    ms = statement({"value": 100, "unit": "mg", "code": "mg"}, start="2025-01-05", end=None)
    ms["status"] = "active"
    assessment = assess(rules, ms, birth="1960")
    assert assessment["details"]["age"] is None
    assert assessment["details"]["ageRange"] == {"youngest": 64, "oldest": 65}
    assert "older-adult" in assessment["safety"]
    assert {"resource": "Patient/p", "path": "Patient.birthDate", "issue": "partial-date",
            "effect": "age-uncertain"} in assessment["dataQuality"]


def test_month_only_birth_date_with_a_certain_age(rules: TrdRules) -> None:
    # Born in March 1980: 45 on 2025-06-01 whatever the day.
    assessment = assess(rules, statement({"value": 100, "unit": "mg"}), birth="1980-03")
    assert assessment["details"]["age"] == 45
    assert assessment["details"].get("ageRange") is None
    assert {"resource": "Patient/p", "path": "Patient.birthDate", "issue": "partial-date",
            "effect": "read-conservatively"} in assessment["dataQuality"]


def test_a_phq9_total_without_its_day_is_not_used(rules: TrdRules) -> None:
    ms = statement({"value": 100, "unit": "mg", "code": "mg"})
    phq = {"resourceType": "Observation", "id": "phq", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
           "effectiveDateTime": "2024-10", "valueInteger": 20}
    assessment = assess(rules, ms, phq)
    assert {"resource": "Observation/phq", "path": "Observation.effective", "issue": "partial-date",
            "effect": "not-used"} in assessment["dataQuality"]


def test_a_partial_item9_in_the_current_month_raises_the_crisis_card(rules: TrdRules) -> None:
    item9 = {"resourceType": "Observation", "id": "i9", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "44260-8"}]},
             "effectiveDateTime": "2025-05", "valueInteger": 2}
    assessment = assess(rules, item9)
    assert assessment["crisis"] is True
    assert any(f["resource"] == "Observation/i9" and f["effect"] == "read-as-latest-day"
               for f in assessment["dataQuality"])


@pytest.mark.parametrize("start", ["0001-01-01", "0001-01", "0001"])
def test_dates_at_the_start_of_the_calendar(rules: TrdRules, start: str) -> None:
    trial = only_trial(assess(rules, statement({"value": 100, "unit": "mg"}, start=start)))
    assert trial["ingredient"] == "sertraline"


@pytest.mark.parametrize("as_of", [date(1900, 1, 1), date(2999, 12, 31)])
def test_evaluation_dates_at_the_ends_of_the_accepted_range(rules: TrdRules, as_of: date) -> None:
    assessment = assess(rules, statement({"value": 100, "unit": "mg"}), as_of=as_of)
    assert assessment["evaluationDate"] == as_of.isoformat()


def test_empty_only_findings_get_no_integrator_card(rules: TrdRules) -> None:
    assessment = assess(rules, statement({"value": 100, "unit": "mg"}))
    assessment["dataQuality"] = [{"resource": "MedicationStatement/ms",
                                  "path": "MedicationStatement.note", "issue": "empty-element",
                                  "effect": "dropped"}]
    cards = build_cards(assessment, hook="patient-view", patient_id="p")
    assert not any(c["source"]["topic"]["code"] == "data-quality" for c in cards if "topic" in c["source"])
    assert all("could not be fully used" not in c["summary"] for c in cards)
