"""`cql run` over a TRD library and an example, and the Maudsley cut-offs as parameters: a
changed threshold moves the stage the same way in our engine and in cql-execution."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.cql_tools.tool import as_of_now, main
from trd_cds.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fhir_examples" / "classic-trd.json"
AS_OF = json.loads((ROOT / "fhir_examples" / "manifest.json").read_text("utf-8"))["asOf"]


def run_ours(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(["run", "--as-of", AS_OF, "--bundle", str(EXAMPLE), *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_prints_every_define_in_the_canonical_encoding(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_ours(capsys, "--library", "Staging")
    row = out["classic-trd"]
    assert {"Thase Rush Stage", "Maudsley Score", "Maudsley Band", "Baseline Severity"} <= set(row)
    assert row["Maudsley Score"] == 7 and row["Maudsley Band"] == "moderate"
    assert row["Failed Classes"] == ["SNRI", "SSRI"]


def test_several_libraries_by_library(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_ours(capsys, "--library", "Staging", "--library", "TRD", "--by-library")
    assert set(out) == {"Staging", "TRD"}
    assert out["TRD"]["classic-trd"]["TRD Status"] == "met"
    assert out["Staging"]["classic-trd"]["Failed Classes"] == out["TRD"]["classic-trd"]["Failed Classes"]


def test_several_libraries_need_by_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--library", "Staging", "--library", "TRD", "--bundle", str(EXAMPLE)]) == 2


# classic-trd: episode of 12 months (duration 1), baseline PHQ-9 20 (severity 4), two failed
# antidepressants of four at most (treatment 2): score 7, moderate. A plain name sets the
# parameter wherever it is declared (TRDConfig), as in cql-execution.
OVERRIDES = [
    ([], 7, "moderate"),
    (["MaudsleyModerateMax=6"], 7, "severe"),
    (["MaudsleyMildMax=7"], 7, "mild"),
    (["MaudsleyDurationMonthsScore1Max=11"], 8, "moderate"),
    (["MaudsleySeverityScore4From=20.5"], 6, "mild"),
    (["MaudsleyFailedScore2Max=2"], 8, "moderate"),
    (["TRDConfig.MaudsleyModerateMax=6"], 7, "severe"),
]


@pytest.mark.parametrize(("params", "score", "band"), OVERRIDES)
def test_maudsley_thresholds_are_parameters(capsys: pytest.CaptureFixture[str], params: list[str],
                                            score: int, band: str) -> None:
    args = [a for p in params for a in ("--param", p)]
    row = run_ours(capsys, "--library", "Staging", *args)["classic-trd"]
    assert (row["Maudsley Score"], row["Maudsley Band"]) == (score, band)


@pytest.mark.skipif(shutil.which("node") is None
                    or not (ROOT / "cql" / "node_modules" / "cql-execution").is_dir(),
                    reason="needs node and cql/node_modules")
def test_reference_engine_reads_the_same_parameters() -> None:
    for params, score, band in OVERRIDES:
        args = [a for p in params for a in ("--param", p)]
        proc = subprocess.run(
            ["node", str(ROOT / "cql" / "tools" / "reference-run.mjs"), "--library", "Staging",
             "--as-of", AS_OF, *args, "--bundles", str(EXAMPLE)],
            capture_output=True, text=True, check=True, timeout=120)
        row = json.loads(proc.stdout)["classic-trd"]
        assert (row["Maudsley Score"], row["Maudsley Band"]) == (score, band), params


UNCERTAIN = """library UncertainCompare version '1.0.0'
define "Age": years between @1955-11 and @2021-11-02
define "At Least 65": (years between @1955-11 and @2021-11-02) >= 65
define "Over 65": (years between @1955-11 and @2021-11-02) > 65
define "Below 65": (years between @1955-11 and @2021-11-02) < 65
define "At Most 66": (years between @1955-11 and @2021-11-02) <= 66
"""


# Found by the reference comparison (corpus-0128: a birth date known to the month). The age is
# the Uncertainty 65..66; a comparison holds when it holds for every value of the range, fails
# when it fails for all, and is null otherwise (CQL 1.5, Appendix B, Date and Time Operators:
# Uncertainty; cql-execution answers so).
@needs_translator
def test_comparison_of_an_uncertain_duration() -> None:
    engine = Engine.from_elm(translate(UNCERTAIN))
    out = engine.evaluate("UncertainCompare", data=None, now=as_of_now(AS_OF))
    assert out["At Least 65"] is True
    assert out["Over 65"] is None
    assert out["Below 65"] is False
    assert out["At Most 66"] is True
