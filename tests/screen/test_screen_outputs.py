"""The table (Parquet and CSV, one row per trial, one for a patient without any) and the
report (counts of the assessments; no patient identifiers unless asked for)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from screen_helpers import AS_OF, BULK, screened

from trd_cds.screen.command import screen


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screen") / "out"
    screen(BULK, folder, AS_OF, processes=1, show_progress=False)
    return folder


def test_the_table_has_a_row_per_trial_and_per_patient_without_trials(out: Path) -> None:
    assessments = screened(out)
    table = pq.read_table(out / "screen.parquet").to_pylist()
    assert len(table) == sum(max(1, len(a["trials"])) for a in assessments.values())
    with open(out / "screen.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(table)
    for row, csv_row in zip(table, rows, strict=True):
        assessment = assessments[row["patient"]]
        assert row["trdStatus"] == assessment["trdStatus"] == (csv_row["trdStatus"] or None)
        assert row["thaseRush"] == assessment["staging"]["thaseRush"]
        assert row["suggestions"] == assessment["suggestions"]
        assert csv_row["suggestions"] == ";".join(assessment["suggestions"])
        if row["trialIndex"] is None:
            assert assessment["trials"] == []
        else:
            trial = assessment["trials"][row["trialIndex"]]
            assert (row["ingredient"], row["class"], row["flags"]) == \
                (trial["ingredient"], trial["class"], trial["flags"])


def test_the_report_counts_the_assessments_and_names_no_patient(out: Path) -> None:
    assessments = screened(out)
    page = (out / "report.html").read_text(encoding="utf-8")
    met = sum(a["trdStatus"] == "met" for a in assessments.values())
    assert f"<td>met</td><td>{met}</td>" in page
    pseudo = sum(a["pseudoResistance"] for a in assessments.values())
    assert f"<b>{pseudo} (" in page
    # (One example patient is named after a status, no-mdd-diagnosis: the report does say that.)
    statuses = {a["trdStatus"] for a in assessments.values()}
    for pid in set(assessments) - statuses:
        assert pid not in page


def test_include_ids_lists_the_patients_by_group(tmp_path: Path) -> None:
    screen(BULK, tmp_path / "out", AS_OF, processes=1, show_progress=False, include_ids=True)
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    met = {p for p, a in screened(tmp_path / "out").items() if a["trdStatus"] == "met"}
    start = page.index("<td>trd-met</td><td>") + len("<td>trd-met</td><td>")
    assert met and set(page[start:page.index("</td>", start)].split(" ")) == met
