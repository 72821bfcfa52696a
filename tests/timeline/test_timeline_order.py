"""The timeline lists leave the CQL unsorted (engines disagree on ties of equal Dates) and are
put in one total order by the service, so equal data always gives an equal assessment."""

from __future__ import annotations

from trd_cds.rules.runner import _sorted_timeline


def test_ties_on_a_day_are_ordered_by_the_next_keys_and_nulls_last() -> None:
    given = {
        "doseRecords": [
            {"resource": "MedicationStatement/b", "ingredient": "sertraline", "start": "2024-01-01",
             "end": "2024-02-01", "dailyDoseMg": None},
            {"resource": "MedicationStatement/a", "ingredient": "sertraline", "start": "2024-01-01",
             "end": "2024-03-01", "dailyDoseMg": 50},
            {"resource": "MedicationRequest/c", "ingredient": "mirtazapine", "start": "2024-01-01",
             "end": "2024-01-20", "dailyDoseMg": 15},
        ],
        "phq9": [{"takenOn": "2024-02-01", "score": 23}, {"takenOn": "2024-02-01", "score": 22},
                 {"takenOn": "2024-01-01", "score": 9}],
        "procedures": [{"kind": "psychotherapy", "performedOn": "2024-05-01"},
                       {"kind": "ect", "performedOn": "2024-05-01"}],
        "augmenters": [],
        "remissionBelowScore": 5,
    }
    out = _sorted_timeline(given)
    assert [r["resource"] for r in out["doseRecords"]] == [
        "MedicationRequest/c", "MedicationStatement/a", "MedicationStatement/b"]
    assert [p["score"] for p in out["phq9"]] == [9, 22, 23]
    assert [p["kind"] for p in out["procedures"]] == ["ect", "psychotherapy"]
    assert out["remissionBelowScore"] == 5
    # Whatever order the engine returned them in.
    reversed_input = {k: (list(reversed(v)) if isinstance(v, list) else v) for k, v in given.items()}
    assert _sorted_timeline(reversed_input) == out
