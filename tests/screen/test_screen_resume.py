"""A screen that stops leaves every finished patient on disk; a rerun skips them, evaluates
the rest once, and refuses to mix answers to another question into the folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from screen_helpers import AS_OF, BULK, screened

from trd_cds.cli import main
from trd_cds.screen import evaluation
from trd_cds.screen.command import screen
from trd_cds.screen.outputs import RunMismatch


def test_a_rerun_evaluates_only_what_was_not_finished(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    first = screen(BULK, out, AS_OF, processes=1, show_progress=False)
    complete = screened(out)
    total = first.evaluated
    assert total == len(complete) + 1  # and the patient without a Patient resource

    lines = (out / "assessments.ndjson").read_bytes().splitlines(keepends=True)
    # Stopped while writing the 21st line.
    (out / "assessments.ndjson").write_bytes(b"".join(lines[:20]) + lines[20][: len(lines[20]) // 2])
    seen: list[str] = []
    original = evaluation.PatientEvaluator.evaluate

    def counted(self: evaluation.PatientEvaluator, patient: str, bundle: bytes) -> evaluation.Result:
        seen.append(patient)
        return original(self, patient, bundle)

    monkeypatch.setattr(evaluation.PatientEvaluator, "evaluate", counted)
    again = screen(BULK, out, AS_OF, processes=1, show_progress=False)
    assert (again.evaluated, again.skipped) == (len(complete) - 20, 21)
    assert len(seen) == len(set(seen)) == len(complete) - 20
    assert screened(out) == complete

    # Finished: a third run evaluates nobody.
    seen.clear()
    assert screen(BULK, out, AS_OF, processes=1, show_progress=False).evaluated == 0
    assert seen == []


def test_another_evaluation_date_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    screen(BULK, out, AS_OF, processes=1, show_progress=False)
    with pytest.raises(RunMismatch):
        screen(BULK, out, date(2025, 7, 1), processes=1, show_progress=False)
    assert main(["screen", str(BULK), "--as-of", "2025-07-01", "--out", str(out), "--quiet"]) == 2
    assert "asOf 2025-06-01" in capsys.readouterr().err
