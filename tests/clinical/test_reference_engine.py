"""The same ELM on the reference JS engine (cql-execution + cql-exec-fhir) and on ours must
give the same value for every Patient-context define of every TRD library, over every example
patient and a slice of the generated corpus (`make compare` runs the full 200-patient corpus).
Only the differences of tests/engine/reference_differences.json, each decided by a section of
the CQL specification, are accepted."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "fhir_examples"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text("utf-8"))
CORPUS_SLICE = 30

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "cql" / "node_modules" / "cql-execution").is_dir(),
    reason="needs node and cql/node_modules",
)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    sys.path.insert(0, str(ROOT / "cql" / "tools"))
    try:
        import gen_corpus
    finally:
        sys.path.pop(0)
    corpus = gen_corpus.generate(tmp_path_factory.mktemp("corpus"), CORPUS_SLICE, 20250601,
                                 date.fromisoformat(MANIFEST["asOf"]))
    examples = [EXAMPLES / e["bundle"] for e in MANIFEST["examples"].values()]
    proc = subprocess.run(
        ["node", str(ROOT / "cql" / "tools" / "reference-run.mjs"), "--check",
         "--as-of", MANIFEST["asOf"], "--bundles", *map(str, examples + corpus)],
        capture_output=True, text=True, timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_every_define_agrees_with_the_reference_engine(comparison: tuple[int, str]) -> None:
    code, out = comparison
    assert code == 0, out
    summary = re.search(r"^compare: (\d+) values compared over (\d+) patients, .* (\d+) undocumented",
                        out, re.M)
    assert summary, out
    values, patients, undocumented = map(int, summary.groups())
    assert patients == len(MANIFEST["examples"]) + CORPUS_SLICE
    assert undocumented == 0
    # Every TRD library with Patient-context defines took part.
    for library in ("TRDAssessment", "TRD", "Staging", "Safety", "Suggestions", "MedicationTrials",
                    "TreatmentAdequacy", "CurrentEpisode", "TRDCommon"):
        assert re.search(rf"^{library}: \d+ values, 0 undocumented", out, re.M), library
    assert values > 100 * patients
