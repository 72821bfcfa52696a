"""`trd-cds screen --engine spark` in local[2] mode (the machine's Java): the same assessments
as /evaluate for every patient, the same problems reported, and a rerun resumes."""

from __future__ import annotations

from pathlib import Path

import orjson
from screen_helpers import AS_OF, BULK, bulk_answers, errors, screened

from trd_cds.screen.command import screen


def test_spark_local_equals_evaluate_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = screen(BULK, out, AS_OF, engine="spark", spark_master="local[2]", show_progress=False)
    expected = bulk_answers()
    got = screened(out)
    assert set(got) == set(expected)
    for pid, answer in expected.items():
        assert got[pid] == answer["assessment"], pid
    assert set(errors(out)) == {"not-in-this-export"}
    assert [orjson.loads(line)["resourceType"]
            for line in (out / "input-issues.ndjson").read_bytes().splitlines()] == ["Practitioner"]
    assert run.evaluated == len(expected) + 1

    # A stop after ten patients (the eleventh line cut short): the rerun does the rest.
    lines = (out / "assessments.ndjson").read_bytes().splitlines(keepends=True)
    (out / "assessments.ndjson").write_bytes(b"".join(lines[:10]) + lines[10][:40])
    again = screen(BULK, out, AS_OF, engine="spark", spark_master="local[2]", show_progress=False)
    assert (again.evaluated, again.skipped) == (len(expected) - 10, 11)
    assert screened(out) == got
