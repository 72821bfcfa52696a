"""Partial dates the month-precision property of test_ehr_mutations led to, as plain cases.

Both are decisions of the CQL: a washout counts from the last day a partial end allows
(Safety.cql), and a partial start is never read past the recorded end (MedicationTrials.cql).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import TrdRules

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def patient(*records: dict[str, Any]) -> PatientData:
    return PatientData.of([
        {"resourceType": "Patient", "id": "p", "birthDate": "1980-01-01"},
        {"resourceType": "Condition", "id": "mdd", "clinicalStatus": {"coding": [{"code": "active"}]},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.1"}]},
         "onsetDateTime": "2024-01-01"},
        *records,
    ])


def statement(rxcui: str, name: str, mg: int, start: str, end: str) -> dict[str, Any]:
    return {"resourceType": "MedicationStatement", "id": name, "status": "completed",
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": rxcui, "display": name}]},
            "effectivePeriod": {"start": start, "end": end},
            "dosage": [{"doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg",
                                                          "system": UCUM, "code": "mg"}}]}]}


SERTRALINE_DRAFT = {
    "resourceType": "MedicationRequest", "id": "draft", "status": "draft", "intent": "order",
    "medicationCodeableConcept": {"coding": [{"system": RX, "code": "36437", "display": "sertraline"}]},
}


def test_maoi_washout_with_the_full_end_date(rules: TrdRules) -> None:
    phenelzine = statement("8123", "phenelzine", 45, "2025-01-01", "2025-05-25")
    findings = rules.check_orders(patient(phenelzine), date(2025, 5, 28), [SERTRALINE_DRAFT])["findings"]
    assert [(f["ruleId"], f["washoutDaysLeft"]) for f in findings] == [("maoi-washout", 11)]


def test_maoi_washout_when_the_end_is_known_to_the_month(rules: TrdRules) -> None:
    # Stopped some day in May, evaluated on 28 May: it may have been stopped yesterday, so the
    # careful reading of the washout is the latest end the data allow (28 May, 14 days left),
    # the opposite of the shortest course used for adequacy. Read as 1 May, the washout is
    # over and a drafted SSRI gets no finding.
    phenelzine = statement("8123", "phenelzine", 45, "2025-01-01", "2025-05")
    findings = rules.check_orders(patient(phenelzine), date(2025, 5, 28), [SERTRALINE_DRAFT])["findings"]
    assert [f["ruleId"] for f in findings] == ["maoi-washout"]


def test_a_month_only_start_is_not_read_after_the_recorded_end(rules: TrdRules) -> None:
    # Started in January, stopped 28 January: the last start the data allow is 28 January.
    # Read as 31 January, the trial is reported as running 31 January, after it stopped.
    sertraline = statement("36437", "sertraline", 50, "2025-01", "2025-01-28")
    trial = rules.assess(patient(sertraline), date(2025, 6, 1))["trials"][0]
    assert trial["start"] <= "2025-01-28" and trial["end"] == "2025-01-28"
