"""The output folder of a screen: what was asked (``run.json``), one line per patient in
``assessments.ndjson`` or ``errors.ndjson``, the input problems in ``input-issues.ndjson``.

Appended to as patients finish, and flushed, so a run that stops leaves every finished patient
on disk; a rerun with the same question reads them back and skips them (a line cut short by
the stop is dropped and that patient evaluated again)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from .bulk_input import InputProblem
from .evaluation import ASSESSMENT, Result

ASSESSMENTS = "assessments.ndjson"
ERRORS = "errors.ndjson"
INPUT_ISSUES = "input-issues.ndjson"
RUN = "run.json"


class RunMismatch(Exception):
    """The folder holds results of another question (another asOf, other rules)."""


class OutputFiles:
    def __init__(self, out: Path, question: dict[str, Any]) -> None:
        """``question``: what decides the answers (asOf, ruleset version); a rerun into the
        same folder must ask the same, or its results would mix with the old ones."""
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        run = out / RUN
        if run.exists():
            before = orjson.loads(run.read_bytes())
            if before != question:
                raise RunMismatch(
                    f"{out} holds results for {_describe(before)}, not {_describe(question)}: "
                    "choose another --out"
                )
        else:
            run.write_bytes(orjson.dumps(question, option=orjson.OPT_INDENT_2) + b"\n")
        for name in (ASSESSMENTS, ERRORS):
            _drop_cut_line(out / name)
        self._assessments: IO[bytes] = open(out / ASSESSMENTS, "ab")  # noqa: SIM115
        self._errors: IO[bytes] = open(out / ERRORS, "ab")  # noqa: SIM115
        # Input problems belong to this reading of the input: each run writes them anew.
        self._issues: IO[bytes] = open(out / INPUT_ISSUES, "wb")  # noqa: SIM115

    def finished_patients(self) -> Iterator[str]:
        """Patients with a line in the assessments or errors of earlier runs."""
        for name in (ASSESSMENTS, ERRORS):
            for line in read_lines(self.out / name):
                patient = line.get("patient")
                if isinstance(patient, str):
                    yield patient

    def write(self, results: Iterable[Result]) -> None:
        for result in results:
            target = self._assessments if result.kind == ASSESSMENT else self._errors
            target.write(result.line + b"\n")
        self._assessments.flush()
        self._errors.flush()

    def problem(self, problem: InputProblem) -> None:
        record: dict[str, str] = {"source": problem.source, "where": problem.where,
                                  "issue": problem.issue}
        if problem.kind:
            record["resourceType"] = problem.kind
        self._issues.write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        for handle in (self._assessments, self._errors, self._issues):
            handle.close()


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def _drop_cut_line(path: Path) -> None:
    """Truncate ``path`` after its last complete line (a stop can cut the one being written)."""
    if not path.exists():
        return
    with open(path, "r+b") as handle:
        size = handle.seek(0, 2)
        position = size
        while position > 0:
            start = max(0, position - 65536)
            handle.seek(start)
            newline = handle.read(position - start).rfind(b"\n")
            if newline >= 0:
                position = start + newline + 1
                break
            position = start
        if position != size:
            handle.truncate(position)


def _describe(question: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(question.items()))
