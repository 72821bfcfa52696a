"""`trd-cds screen` answers every patient as /evaluate does for that patient's data: the
example Bulk export (NDJSON, gzip, shared and contained Medications, `urn:uuid` references,
partial dates) and a folder of Bundles, on one process and on a pool."""

from __future__ import annotations

from pathlib import Path

from screen_helpers import AS_OF, BULK, bulk_answers, bundle_answers, copy_bundles, errors, screened

from trd_cds.cli import main


def test_bulk_export_on_a_pool_equals_evaluate(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["screen", str(BULK), "--as-of", AS_OF.isoformat(), "--out", str(out),
                 "--processes", "2", "--quiet"]) == 0
    expected = bulk_answers()
    got = screened(out)
    assert set(got) == set(expected)
    for pid, answer in expected.items():
        assert answer["status"] == 200, (pid, answer)
        assert got[pid] == answer["assessment"], pid
    # The Condition of a patient the export left out: the answer /evaluate gives a Bundle
    # without its Patient, for that one patient only.
    assert errors(out)["not-in-this-export"]["issue"][0]["diagnostics"] == \
        "the Bundle has no Patient resource"
    issues = (out / "input-issues.ndjson").read_text().splitlines()
    assert issues == ['{"source":"Practitioner.ndjson","where":"line 1",'
                      '"issue":"no-patient-reference","resourceType":"Practitioner"}']


def test_folder_of_bundles_on_one_process_equals_evaluate(tmp_path: Path) -> None:
    source = copy_bundles(tmp_path / "bundles")
    out = tmp_path / "out"
    assert main(["screen", str(source), "--as-of", AS_OF.isoformat(), "--out", str(out),
                 "--processes", "1", "--quiet"]) == 0
    expected = bundle_answers()
    got = screened(out)
    assert set(got) == set(expected)
    for pid, answer in expected.items():
        assert got[pid] == answer["assessment"], pid


def test_the_example_export_has_the_shapes_it_claims() -> None:
    """The export holds what makes it real-world-shaped, so the tests above exercise it."""
    import gzip

    text = "".join(
        (gzip.decompress(p.read_bytes()).decode() if p.name.endswith(".gz") else p.read_text())
        for p in sorted(BULK.glob("*.ndjson*"))
    )
    assert any(p.name.endswith(".ndjson.gz") for p in BULK.iterdir())
    assert '"reference":"urn:uuid:' in text
    assert '"reference":"Patient/' in text
    assert '"reference":"#med"' in text
    assert '"reference":"Medication/formulary-' in text
    assert '"birthDate":"19' in text and any(
        f'"birthDate":"{y}"' in text for y in range(1930, 2010))  # a year-only birthDate


def test_the_example_export_is_what_its_script_writes(tmp_path: Path) -> None:
    """fhir_examples/bulk is generated (fhir_examples/build_bulk.py): rerun it after changing
    the examples, the corpus generator or the value sets it draws codes from."""
    import build_bulk

    build_bulk.write_export(tmp_path)
    written = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in BULK.iterdir()}
    assert sorted(written) == sorted(committed)
    stale = [name for name in written if written[name] != committed[name]]
    assert not stale, f"stale: {stale}; run python fhir_examples/build_bulk.py"
