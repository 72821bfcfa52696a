"""The crisis rule on raw data (RULES.md §10), used when no assessment is available."""

from __future__ import annotations

from datetime import date
from typing import Any

from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import CrisisRule

AS_OF = date(2025, 6, 30)
RULE = CrisisRule.load()


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
    return RULE(PatientData.of(resources), AS_OF) is not None


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
    # The last day a partial date allows, but never after today (as the CQL reads it): a
    # month-only answer of this month is recent, not in the future.
    assert RULE(PatientData.of([_item9(2, "2025-06")]), date(2025, 6, 10)) == {
        "crisisItem9": {"score": 2, "takenOn": "2025-06-10"},
        "crisisSuicidalIdeationCondition": False,
    }
    # A partial date wholly after today is no reading of today.
    assert RULE(PatientData.of([_item9(2, "2025-07")]), date(2025, 6, 10)) is None


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
    assert not _signal({**condition(None), "abatementDateTime": "2025-01-01"})
    # SNOMED CT 6471006 |Suicidal thoughts| is in the value set (cql/knowledge/codes_supplement.csv).
    snomed = {**condition("active"),
              "code": {"coding": [{"system": "http://snomed.info/sct", "code": "6471006"}]}}
    assert _signal(snomed)


def test_evidence_is_the_latest_positive_answer_as_the_details_carry_it() -> None:
    # The latest day's answer, not the highest of the window (Suggestions "Positive Item 9").
    data = PatientData.of(
        [_item9(1, "2025-06-20"), _item9(3, "2025-06-02"), _item9(3, "2025-04-01")]
    )
    assert RULE(data, AS_OF) == {
        "crisisItem9": {"score": 1, "takenOn": "2025-06-20"},
        "crisisSuicidalIdeationCondition": False,
    }
    ideation = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R45.851"}]},
        "clinicalStatus": {"coding": [{"code": "active"}]},
    }
    assert RULE(PatientData.of([ideation]), AS_OF) == {
        "crisisItem9": None,
        "crisisSuicidalIdeationCondition": True,
    }
    assert RULE(PatientData.of([_item9(0, "2025-06-20")]), AS_OF) is None


def test_parameter_overrides_reach_the_crisis_rule() -> None:
    eight_days = PatientData.of([_item9(1, "2025-06-22")])
    assert RULE(eight_days, AS_OF) is not None
    assert CrisisRule.load({"CrisisLookbackDays": 7})(eight_days, AS_OF) is None
    assert CrisisRule.load({"CrisisItem9MinimumScore": 2})(eight_days, AS_OF) is None
    assert RULE.lookback_days == 30 and RULE.minimum_score == 1


def test_the_cql_reads_the_same_suicidal_ideation_codes_and_status() -> None:
    from trd_cds.rules import TrdRules

    rules = TrdRules.load()

    def crisis(condition: dict[str, Any]) -> bool:
        patient = PatientData.of([{"resourceType": "Patient", "id": "p"},
                                  {"resourceType": "Condition", "id": "c", **condition}])
        return rules.assess(patient, AS_OF)["crisis"]

    snomed = {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "6471006"}]}}
    assert crisis({**snomed, "clinicalStatus": {"coding": [{"code": "active"}]}})
    assert crisis(snomed)  # no status and no abatement: possibly current
    assert not crisis({**snomed, "abatementDateTime": "2025-01-01"})
    assert not crisis({**snomed, "clinicalStatus": {"coding": [{"code": "resolved"}]}})
