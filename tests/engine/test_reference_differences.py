"""The documented differences with the reference JS engine (tests/engine/reference_differences.json):
each names the section of the CQL specification that decides it, and each still occurs where
it says, so that `make compare` accepts nothing stale. The comparison's own rules (what counts
as a documented reordering) are tested on small hand-made results."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "cql" / "tools" / "reference-run.mjs"
DOC = json.loads((ROOT / "tests" / "engine" / "reference_differences.json").read_text("utf-8"))
ENTRIES = {e["id"]: e for e in DOC["differences"]}
AS_OF = json.loads((ROOT / "fhir_examples" / "manifest.json").read_text("utf-8"))["asOf"]

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "cql" / "node_modules" / "cql-execution").is_dir(),
    reason="needs node and cql/node_modules")


@pytest.mark.parametrize("entry_id", sorted(ENTRIES))
def test_entry_names_its_cql_section(entry_id: str) -> None:
    e = ENTRIES[entry_id]
    assert e["cqlSpec"].startswith("CQL 1.5, ")
    assert e["specUrl"].startswith("https://cql.hl7.org/")
    assert len(e["explanation"]) > 80
    assert e.get("libraries"), "name the libraries (or '*')"
    assert e.get("witnesses"), "name the patients where the difference occurs"
    if "sortedBy" in e:
        assert e["sortedBy"] and re.compile(e["defines"])
    elif "tieOf" in e:
        assert {"library", "source", "sortKey", "values"} <= set(e["tieOf"])
    else:
        assert e["paths"] and e.get("patients")
    for p in e.get("paths", []):
        re.compile(p)


def corpus_bundles(tmp_path: Path, patients: list[str]) -> list[Path]:
    """The named corpus patients, generated with the default seed as `make compare` does."""
    sys.path.insert(0, str(ROOT / "cql" / "tools"))
    try:
        import gen_corpus
    finally:
        sys.path.pop(0)
    count = max(int(p.split("-")[1]) for p in patients) + 1
    gen_corpus.generate(tmp_path, count, 20250601, date.fromisoformat(AS_OF))
    return [tmp_path / f"{p}.json" for p in patients]


def check(bundles: list[Path]) -> str:
    proc = subprocess.run(["node", str(SCRIPT), "--check", "--as-of", AS_OF, "--bundles", *map(str, bundles)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@needs_node
@pytest.mark.parametrize("entry_id", sorted(ENTRIES))
def test_documented_difference_still_occurs(entry_id: str, tmp_path: Path) -> None:
    witnesses = ENTRIES[entry_id]["witnesses"]
    corpus = [p for p in witnesses if p.startswith("corpus-")]
    bundles = [ROOT / "fhir_examples" / f"{p}.json" for p in witnesses if not p.startswith("corpus-")]
    bundles += corpus_bundles(tmp_path, corpus) if corpus else []
    for bundle in bundles:
        out = check([bundle])
        assert re.search(rf"^documented {re.escape(entry_id)} .*: [1-9]\d* value", out, re.M), (bundle.name, out)


COMPARE_JS = """
import { compareAll, prepareDifferences } from %(script)s;
const [ours, theirs, entries] = JSON.parse(process.argv[1]);
const t = compareAll(ours, theirs, ["L"], prepareDifferences(entries), false, () => {});
process.stdout.write(JSON.stringify({ documented: t.documented, undocumented: t.undocumented }));
"""


def compare(ours: Any, theirs: Any, entries: list[dict[str, Any]]) -> dict[str, int]:
    script = COMPARE_JS % {"script": json.dumps(SCRIPT.as_uri())}
    proc = subprocess.run(["node", "--input-type=module", "-e", script,
                           json.dumps([{"L": {"p": ours}}, {"L": {"p": theirs}}, entries])],
                          capture_output=True, text=True, check=True, timeout=60)
    result: dict[str, int] = json.loads(proc.stdout)
    return result


def trial(day: str, ingredient: str) -> dict[str, Any]:
    return {"startDate": {"type": "Date", "value": day}, "ingredient": ingredient}


SORTED = [trial("2024-01-01", "a"), trial("2024-01-01", "b"), trial("2024-02-01", "a")]
REORDERED = [SORTED[1], SORTED[0], SORTED[2]]
ENTRY = {"id": "x", "libraries": ["L"], "defines": "^T$", "sortedBy": ["startDate", "ingredient"]}


@needs_node
def test_reordering_documented_only_when_ours_follows_the_sort_keys() -> None:
    assert compare({"T": SORTED}, {"T": REORDERED}, [ENTRY]) == {"documented": 1, "undocumented": 0}
    # Ours out of order: our fault, never documented.
    assert compare({"T": REORDERED}, {"T": SORTED}, [ENTRY]) == {"documented": 0, "undocumented": 1}
    # Different items, not only another order.
    other = [*SORTED[:2], trial("2024-03-01", "a")]
    assert compare({"T": SORTED}, {"T": [other[1], other[0], other[2]]}, [ENTRY]) == {
        "documented": 0, "undocumented": 1}
    assert compare({"T": SORTED}, {"T": REORDERED}, []) == {"documented": 0, "undocumented": 1}


@needs_node
def test_path_entry_explains_only_its_patient_and_paths() -> None:
    entry = {"id": "y", "libraries": ["*"], "patients": ["p"], "paths": ["^D$"]}
    assert compare({"D": 1}, {"D": 2}, [entry]) == {"documented": 1, "undocumented": 0}
    assert compare({"E": 1}, {"E": 2}, [entry]) == {"documented": 0, "undocumented": 1}
    elsewhere = {**entry, "patients": ["q"]}
    assert compare({"D": 1}, {"D": 2}, [elsewhere]) == {"documented": 0, "undocumented": 1}


@needs_node
def test_tie_entry_needs_a_verified_tie() -> None:
    entry = {"id": "z", "libraries": ["L"], "paths": ["^Flag$"],
             "tieOf": {"library": "L", "source": "Readings", "sortKey": "on", "values": {"Latest": "v"}}}

    def reading(day: str, value: int) -> dict[str, Any]:
        return {"on": {"type": "Date", "value": day}, "v": value}

    tied = [reading("2024-01-01", 1), reading("2024-02-01", 2), reading("2024-02-01", 3)]
    ours = {"Readings": tied, "Latest": 3, "Flag": True}
    theirs = {"Readings": tied, "Latest": 2, "Flag": False}
    assert compare(ours, theirs, [entry]) == {"documented": 2, "undocumented": 0}
    # Not a value of the tied items: a real difference, and so is what follows from it.
    assert compare({**ours, "Latest": 1}, theirs, [entry]) == {"documented": 0, "undocumented": 2}
    # No tie on the latest day.
    untied = [reading("2024-01-01", 2), reading("2024-02-01", 3)]
    assert compare({**ours, "Readings": untied}, {**theirs, "Readings": untied}, [entry]) == {
        "documented": 0, "undocumented": 2}
