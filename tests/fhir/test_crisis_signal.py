"""The crisis signal from raw data (RULES.md §10), used when no assessment is available."""

from __future__ import annotations

from datetime import date
from typing import Any

from trd_cds.fhir.crisis import crisis_signal
from trd_cds.fhir.patient_data import PatientData

AS_OF = date(2025, 6, 30)


def _item9(score: Any, day: str, status: str = "final", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "44260-8"}]},
        "effectiveDateTime": day,
        **({"valueInteger": score} if score is not None else {}),
        **extra,
    }


def _signal(*resources: dict[str, Any]) -> bool:
    return crisis_signal(PatientData.of(resources), AS_OF)


def test_item9_at_least_one_within_30_days() -> None:
    assert _signal(_item9(1, "2025-06-01"))
    assert _signal(_item9(3, "2025-06-30T23:00:00+02:00"))
    assert not _signal(_item9(0, "2025-06-20"))
    assert not _signal(_item9(2, "2025-05-30"))  # 31 days before
    assert _signal(_item9(2, "2025-05-31"))  # exactly 30 days before
    assert not _signal(_item9(2, "2025-07-01"))  # after the evaluation date


def test_only_final_results_count() -> None:
    assert not _signal(_item9(2, "2025-06-10", status="preliminary"))
    assert not _signal(_item9(2, "2025-06-10", status="entered-in-error"))
    assert _signal(_item9(2, "2025-06-10", status="amended"))


def test_answer_codes_quantities_and_panel_components() -> None:
    coded = _item9(
        None,
        "2025-06-10",
        valueCodeableConcept={"coding": [{"system": "http://loinc.org", "code": "LA6570-1"}]},
    )
    assert _signal(coded)
    not_at_all = _item9(
        None,
        "2025-06-10",
        valueCodeableConcept={"coding": [{"system": "http://loinc.org", "code": "LA6568-5"}]},
    )
    assert not _signal(not_at_all)
    assert _signal(_item9(None, "2025-06-10", valueQuantity={"value": 1}))
    panel = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44249-1"}]},
        "effectiveDateTime": "2025-06-15",
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "44260-8"}]},
                "valueInteger": 1,
            }
        ],
    }
    assert _signal(panel)


def test_partial_dates_lean_towards_the_window() -> None:
    assert _signal(_item9(1, "2025-06"))
    assert not _signal(_item9(1, "2025-04"))


def test_active_suicidal_ideation_condition() -> None:
    def condition(
        clinical: str | None, verification: str | None = None, code: str = "R45.851"
    ) -> dict[str, Any]:
        found: dict[str, Any] = {
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
        }
        if clinical:
            found["clinicalStatus"] = {"coding": [{"code": clinical}]}
        if verification:
            found["verificationStatus"] = {"coding": [{"code": verification}]}
        return found

    assert _signal(condition("active"))
    assert _signal(condition("relapse", "confirmed"))
    assert _signal(condition(None))
    assert not _signal(condition("resolved"))
    assert not _signal(condition("active", "refuted"))
    assert not _signal(condition("active", code="F32.1"))


def test_evidence_names_the_highest_recent_answer_or_the_condition() -> None:
    from trd_cds.fhir.crisis import crisis_evidence

    data = PatientData.of(
        [_item9(1, "2025-06-20"), _item9(3, "2025-06-02"), _item9(3, "2025-04-01")]
    )
    assert crisis_evidence(data, AS_OF) == {"item9Score": 3, "item9Date": "2025-06-02"}
    ideation = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "6471006"}]},
        "clinicalStatus": {"coding": [{"code": "active"}]},
    }
    assert crisis_evidence(PatientData.of([ideation]), AS_OF) == {"suicidalIdeation": True}
    assert crisis_evidence(PatientData.of([_item9(0, "2025-06-20")]), AS_OF) is None
