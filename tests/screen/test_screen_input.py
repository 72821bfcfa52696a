"""Reading an export: records are keyed by their patient however the reference is written,
Medications go to the patients that use them, and what cannot be used is reported by file and
line (never its content) without stopping the run."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
from screen_helpers import AS_OF, errors, screened

from trd_cds.screen.bulk_input import InputProblem, InputRecord, bundle_items, read_items
from trd_cds.screen.command import screen
from trd_cds.screen.patient_bundle import patient_bundle
from trd_cds.screen.records import patient_key
from trd_cds.screen.spill import PatientSpill


def _lines(*resources: object) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in resources)


def test_patient_references_in_every_form_name_one_patient() -> None:
    for reference in ("Patient/p1", "urn:uuid:p1", "https://ehr.example/fhir/Patient/p1",
                      "Patient/p1/_history/3"):
        assert patient_key({"resourceType": "Condition", "subject": {"reference": reference}}) == "p1"
    assert patient_key({"resourceType": "Patient", "id": "p1"}) == "p1"
    assert patient_key({"resourceType": "MedicationDispense", "subject": {"reference": "Group/g"},
                        "patient": {"reference": "Patient/p2"}}) == "p2"
    assert patient_key({"resourceType": "Observation", "subject": {"reference": "Group/g"}}) is None


def test_bad_lines_are_reported_by_place_and_the_rest_is_read(tmp_path: Path) -> None:
    (tmp_path / "Patient.ndjson").write_bytes(
        _lines({"resourceType": "Patient", "id": "p1"}) + b'{"resourceType": "Patient", "id": \n'
        + b"\n" + _lines(["not", "a", "resource"]))
    (tmp_path / "Observation.ndjson.gz").write_bytes(gzip.compress(_lines(
        {"resourceType": "Observation", "id": "o1", "subject": {"reference": "urn:uuid:p1"}},
        {"resourceType": "Observation", "id": "o2"})))
    items = list(read_items(tmp_path))
    records = [i for i in items if isinstance(i, InputRecord)]
    problems = [i for i in items if isinstance(i, InputProblem)]
    assert [(r.kind, r.patient) for r in records] == [("Observation", "p1"), ("Patient", "p1")]
    assert problems == [
        InputProblem("Observation.ndjson.gz", "line 2", "no-patient-reference", "Observation"),
        InputProblem("Patient.ndjson", "line 2", "invalid-json"),
        InputProblem("Patient.ndjson", "line 4", "not-a-resource"),
    ]


def test_shared_medications_join_each_patient_that_references_them(tmp_path: Path) -> None:
    med = {"resourceType": "Medication", "id": "m1", "code": {"text": "sertraline 50 mg"}}
    (tmp_path / "Medication.ndjson").write_bytes(_lines(med, {"resourceType": "Medication", "id": "unused"}))
    (tmp_path / "MedicationStatement.ndjson").write_bytes(_lines(*[
        {"resourceType": "MedicationStatement", "id": f"ms-{p}-{n}", "status": "active",
         "subject": {"reference": f"Patient/{p}"}, "medicationReference": {"reference": "Medication/m1"}}
        for p in ("a", "b") for n in (1, 2)
    ], {"resourceType": "MedicationStatement", "id": "ms-c", "status": "active",
        "subject": {"reference": "Patient/c"}, "medicationReference": {"reference": "#own"},
        "contained": [{"resourceType": "Medication", "id": "own"}]}))
    spill = PatientSpill(tmp_path / "spill.sqlite")
    spill.add(i for i in read_items(tmp_path) if isinstance(i, InputRecord))
    spill.seal()
    groups = {p: sorted(kind for kind, _, _ in entries) for p, entries in spill.groups()}
    spill.close()
    # Once per patient, however many of its records reference it; never to a patient whose
    # records do not (the contained Medication travels inside its record).
    assert groups == {"a": ["Medication", "MedicationStatement", "MedicationStatement"],
                      "b": ["Medication", "MedicationStatement", "MedicationStatement"],
                      "c": ["MedicationStatement"]}


def test_a_one_patient_bundle_keeps_its_own_medications() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:abc", "resource": {"resourceType": "Patient", "id": "p1"}},
        {"resource": {"resourceType": "MedicationStatement", "id": "ms",
                      "subject": {"reference": "urn:uuid:abc"},
                      "medicationReference": {"reference": "Medication/med-1"}}},
        {"resource": {"resourceType": "Medication", "id": "med-1"}},
        {"resource": {"resourceType": "Practitioner", "id": "dr"}},
    ]}
    items = list(bundle_items(orjson.dumps(bundle), "b.json"))
    assert [(i.kind, i.patient, i.medication_refs) for i in items if isinstance(i, InputRecord)] == [
        ("Patient", "p1", ()), ("MedicationStatement", "p1", ()), ("Medication", "p1", ()),
        ("Practitioner", "p1", ())]


def test_the_patient_bundle_is_the_same_in_any_order() -> None:
    entries = [("Observation", None, b'{"resourceType":"Observation","id":"o"}'),
               ("Patient", None, b'{"resourceType":"Patient","id":"p"}'),
               ("Condition", "urn:uuid:c", b'{"resourceType":"Condition","id":"c"}')]
    built = patient_bundle("p", entries)
    assert built == patient_bundle("p", entries[::-1])
    document = orjson.loads(built)
    assert [e.get("fullUrl") for e in document["entry"]] == ["urn:uuid:p", "urn:uuid:c", None]


def test_a_patient_the_rules_refuse_is_reported_and_the_others_assessed(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "Patient.ndjson").write_bytes(_lines(
        {"resourceType": "Patient", "id": "good", "birthDate": "1980-01-01"},
        {"resourceType": "Patient", "id": "bad", "birthDate": "not a date"}))
    run = screen(source, tmp_path / "out", AS_OF, processes=1, show_progress=False)
    assert run.evaluated == 2
    assert set(screened(tmp_path / "out")) == {"good"}
    outcome = errors(tmp_path / "out")["bad"]
    assert outcome["issue"][0]["expression"] == ["Bundle.entry[0].resource.birthDate"]
    # Counted by reason, whichever entry it was.
    reason = outcome["issue"][0]["diagnostics"]
    assert "Bundle.entry[0]" in reason
    assert run.summary.errors == {reason.replace("[0]", "[*]"): 1}
