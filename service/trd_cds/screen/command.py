"""`trd-cds screen`: read the export, evaluate every patient (local pool or Spark), then write
the table and the report from what was written."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from trd_cds.rules.runner import ruleset_version
from trd_cds.settings import Settings

from .local_runner import run_local, spill_input
from .outputs import ASSESSMENTS, ERRORS, INPUT_ISSUES, OutputFiles, read_lines
from .progress import Progress
from .report import render
from .spill import PatientSpill
from .summary import Summary
from .table import write_table

REPORT = "report.html"
SPILL = "grouping.sqlite"


@dataclass(frozen=True, slots=True)
class ScreenRun:
    evaluated: int  # in this run
    skipped: int  # finished by an earlier run
    summary: Summary
    steady_rate: float | None = None  # patients/s once every process had its rules loaded


def screen(source: Path, out: Path, as_of: date, *, engine: str = "local", processes: int = 1,
           include_ids: bool = False, show_progress: bool = True,
           spark_master: str | None = None) -> ScreenRun:
    settings = Settings(auth_required=False)
    question = {"asOf": as_of.isoformat(),
                "rulesetVersion": ruleset_version(settings.rules_parameters or None)}
    files = OutputFiles(out, question)
    try:
        if engine == "spark":
            from .spark_runner import run_spark  # pyspark is an optional extra

            progress = Progress(None, enabled=show_progress)
            evaluated, skipped = run_spark(source, files, as_of, progress, master=spark_master)
        else:
            progress = Progress(None, enabled=show_progress)
            evaluated, skipped = _run_local(source, files, out, as_of, processes, progress)
        progress.finish()
    finally:
        files.close()
    summary = summarise(out, include_ids)
    write_table(read_lines(out / ASSESSMENTS), out)
    (out / REPORT).write_text(render(summary, question, include_ids), encoding="utf-8")
    return ScreenRun(evaluated, skipped, summary, progress.steady_rate)


def _run_local(source: Path, files: OutputFiles, out: Path, as_of: date, processes: int,
               progress: Progress) -> tuple[int, int]:
    spill = PatientSpill(out / SPILL)
    try:
        spill_input(source, files, spill)
        pending, skipped = spill.pending_count(), spill.done_count()
        progress.total = pending
        run_local(spill, files, as_of, processes, progress)
    finally:
        spill.close()
    return pending, skipped


def summarise(out: Path, include_ids: bool) -> Summary:
    summary = Summary(keep_ids=include_ids)
    for line in read_lines(out / ASSESSMENTS):
        summary.add_assessment(str(line["patient"]), line["assessment"])
    for line in read_lines(out / ERRORS):
        summary.add_error(line["outcome"])
    for line in read_lines(out / INPUT_ISSUES):
        summary.add_input_issue(line)
    return summary


def print_summary(run: ScreenRun, out: Path) -> None:
    s = run.summary
    sys.stderr.write(
        f"{run.evaluated} patients evaluated ({run.skipped} done before); "
        f"{s.patients} assessments, {sum(s.errors.values())} not evaluable, "
        f"{sum(s.input_issues.values())} input records not used; TRD met "
        f"{s.trd_status.get('met', 0)}; written to {out}\n"
    )
