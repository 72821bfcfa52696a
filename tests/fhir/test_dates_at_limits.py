"""Every valid FHIR date, from 0001-01-01 to 9999-12-31 with any offset and in its partial
forms, is accepted in the data; asOf outside the evaluable range is a 400 naming it; neither
ever gives a 5xx."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from trd_cds.fhir.outcome import FhirInputError
from trd_cds.fhir.patient_data import PatientData
from trd_cds.fhir.validate import check_resources
from trd_cds.rules import CrisisRule
from trd_cds.settings import Settings

FHIR_JSON = {"content-type": "application/fhir+json"}

EARLIEST = ["0001-01-01", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-14:00", "0001"]
LATEST = ["9999-12-31", "9999-12-31T23:59:59.999-14:00", "9999-12-31T23:59:59+14:00", "9999-12"]
PARTIAL = ["1980", "2025-04"]


async def _post(client: Any, bundle: dict[str, Any], as_of: str = "2024-05-01") -> Any:
    return await client.post(
        f"/evaluate?asOf={as_of}", content=orjson.dumps(bundle), headers=FHIR_JSON
    )


@pytest.mark.parametrize("as_of", ["0001-01-01", "0001-01-31", "9999-12-31", "1899-12-31",
                                   "3000-01-01"])
async def test_as_of_outside_the_evaluable_range_is_400_naming_it(
    make_client: Any, fhir: Any, as_of: str
) -> None:
    async with make_client() as client:
        response = await _post(client, fhir.patient_bundle(3), as_of)
    assert response.status_code == 400, response.text
    [issue] = response.json()["issue"]
    assert issue["expression"] == ["asOf"]
    assert issue["severity"] == "error"
    assert "1900-01-01" in issue["diagnostics"] and "2999-12-31" in issue["diagnostics"]


@pytest.mark.parametrize("as_of", ["1900-01-01", "2999-12-31"])
async def test_as_of_at_the_ends_of_the_range_is_evaluated(
    make_client: Any, fhir: Any, as_of: str
) -> None:
    bundle = fhir.patient_bundle(3)
    bundle["entry"].append({"resource": fhir.item9(1, 2, as_of)})
    async with make_client() as client:
        response = await _post(client, bundle, as_of)
    assert response.status_code == 200, response.text
    assert response.json()["assessment"]["evaluationDate"] == as_of
    assert response.json()["assessment"]["crisis"] is True


def _dated_bundle(fhir: Any, dates: list[str]) -> dict[str, Any]:
    resources: list[dict[str, Any]] = [fhir.patient(birth_date=dates[0][:10].rstrip("T"))]
    for n, day in enumerate(dates):
        observation = fhir.item9(n, 1, day)
        observation["issued"] = (
            "0001-01-01T00:00:00Z" if day.startswith("0001") else "9999-12-31T23:59:59Z"
        )
        resources.append(observation)
        statement = fhir.statement(n, start=day, end=None)
        statement["dateAsserted"] = day
        statement["dosage"][0]["timing"]["event"] = [day]
        resources.append(statement)
        condition = {
            "resourceType": "Condition",
            "id": f"c{n}",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "35489007"}]},
            "onsetPeriod": {"start": day, "end": day},
            "recordedDate": day,
        }
        resources.append(condition)
    return fhir.bundle(resources)


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("dates", [EARLIEST, LATEST, PARTIAL], ids=["earliest", "latest", "partial"])
async def test_resource_dates_at_the_limits_are_accepted(
    make_client: Any, fhir: Any, fake_rules: Any, strict: bool, dates: list[str]
) -> None:
    async with make_client(Settings(strict_validation=strict), rules=fake_rules) as client:
        for as_of in ("1900-01-01", "2024-05-01", "2999-12-31"):
            response = await _post(client, _dated_bundle(fhir, dates), as_of)
            assert response.status_code == 200, (as_of, response.text)
    assert fake_rules.calls == 3


async def test_crisis_fallback_reads_dates_at_the_limits(make_client: Any, fhir: Any) -> None:
    from conftest import FakeRules

    bundle = _dated_bundle(fhir, EARLIEST + LATEST)
    bundle["entry"].append({"resource": fhir.item9(99, 2, "2999-12-30T23:00:00-14:00")})
    async with make_client(rules=FakeRules(fail=True)) as client:
        response = await _post(client, bundle, "2999-12-31")
        quiet = await _post(client, _dated_bundle(fhir, EARLIEST + LATEST), "1900-01-01")
    assert response.status_code == 200, response.text
    # The latest positive answer, as the CQL rule reads it (Suggestions "Positive Item 9");
    # the answers dated 9999 lie wholly after asOf and are no reading of it.
    assert response.json()["assessment"]["details"]["crisisItem9"] == {
        "score": 2,
        "takenOn": "2999-12-30",
    }
    assert quiet.status_code == 503  # the rules failed and there is no crisis to report


@pytest.mark.parametrize("as_of", [date.min, date(1, 1, 30), date(1, 1, 31), date.max])
def test_the_crisis_window_is_clipped_at_the_ends_of_the_calendar(as_of: date) -> None:
    def item9(day: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "44260-8"}]},
            "effectiveDateTime": day,
            "valueInteger": 1,
        }

    first, last = item9("0001-01-01"), item9("9999-12-31T23:59:59+14:00")
    patient = PatientData.of([first, last])
    expected = as_of <= date(1, 1, 31) or as_of == date.max
    evidence = CrisisRule.load()(patient, as_of)
    assert (evidence is not None) is expected
    if as_of == date.max:
        assert evidence == {"crisisItem9": {"score": 1, "takenOn": "9999-12-31"},
                            "crisisSuicidalIdeationCondition": False}


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("day", [*EARLIEST, *LATEST, *PARTIAL, "2024-02-29"])
def test_validation_accepts_every_valid_form(strict: bool, day: str) -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "sertraline"},
        "effectivePeriod": {"start": day, "end": day},
        "dateAsserted": day,
    }
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": day.split("T")[0]}
    check_resources([("a", statement), ("b", patient)], strict=strict)


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(
    "day", ["0000-01-01", "10000-01-01", "2023-02-29", "2024-04-31", "2024-13", "2024-05-01T10:00"]
)
def test_validation_still_refuses_what_is_no_date(strict: bool, day: str) -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "sertraline"},
        "effectivePeriod": {"start": day},
    }
    with pytest.raises(FhirInputError) as caught:
        check_resources([("Bundle.entry[1].resource", statement)], strict=strict)
    assert caught.value.status == 422
    assert caught.value.issues[0].expression == "Bundle.entry[1].resource.effectivePeriod.start"
