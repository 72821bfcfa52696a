"""Builders of small FHIR patients for the rule tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from trd_cds.fhir.patient_data import PatientData

AS_OF = date(2025, 6, 1)
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CODES = {"sertraline": "36437", "venlafaxine": "39786", "escitalopram": "321988",
         "citalopram": "2556", "bupropion": "42347", "phenelzine": "8123",
         "carbamazepine": "2002", "lithium": "6448"}


def iso(d: date) -> str:
    return d.isoformat()


class Data:
    def __init__(self, birth: str = "1980-01-01") -> None:
        self.items: list[dict[str, Any]] = [{"resourceType": "Patient", "id": "p", "birthDate": birth}]
        self.n = 0

    def add(self, r: dict[str, Any]) -> Data:
        self.n += 1
        r.setdefault("id", f"r{self.n}")
        self.items.append(r)
        return self

    def mdd(self, onset: str = "2024-01-01") -> Data:
        return self.add({"resourceType": "Condition",
                         "clinicalStatus": {"coding": [{"code": "active"}]},
                         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.1"}]},
                         "onsetDateTime": onset})

    def med(self, drug: str, start: date, end: date | None, mg: float, status: str = "completed") -> Data:
        r: dict[str, Any] = {"resourceType": "MedicationStatement", "status": status if end else "active",
                             "medicationCodeableConcept": {"coding": [{"system": RX, "code": CODES[drug]}]},
                             "effectivePeriod": {"start": iso(start), **({"end": iso(end)} if end else {})},
                             "dosage": [{"doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "code": "mg"}}]}]}
        return self.add(r)

    def phq9(self, when: date, score: int, item9: bool = False) -> Data:
        return self.add({"resourceType": "Observation", "status": "final",
                         "code": {"coding": [{"system": "http://loinc.org", "code": "44260-8" if item9 else "44261-6"}]},
                         "effectiveDateTime": iso(when), "valueInteger": score})

    def dispense(self, drug: str, when: date, days: int) -> Data:
        return self.add({"resourceType": "MedicationDispense", "status": "completed",
                         "medicationCodeableConcept": {"coding": [{"system": RX, "code": CODES[drug]}]},
                         "whenHandedOver": iso(when), "daysSupply": {"value": days, "code": "d"}})

    def patient(self) -> PatientData:
        return PatientData.of(self.items)

    def condition(self, code: str, system: str = ICD10) -> Data:
        return self.add({"resourceType": "Condition",
                         "clinicalStatus": {"coding": [{"code": "active"}]},
                         "code": {"coding": [{"system": system, "code": code}]},
                         "onsetDateTime": "2024-01-01"})

    def observation(self, loinc: str, when: date, value: float, unit: str) -> Data:
        return self.add({"resourceType": "Observation", "status": "final",
                         "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
                         "effectiveDateTime": iso(when),
                         "valueQuantity": {"value": value, "unit": unit, "code": unit}})


def met() -> Data:
    """Failed sertraline, then venlafaxine taken now without response: TRD met."""
    d = Data().mdd()
    d.med("sertraline", date(2024, 6, 1), date(2024, 8, 31), 100).phq9(date(2024, 6, 1), 20).phq9(date(2024, 8, 25), 19)
    d.med("venlafaxine", date(2024, 9, 10), None, 150).phq9(date(2025, 5, 20), 18)
    return d
