"""The same ELM on the reference JS engine (cql-execution + cql-exec-fhir) and on ours must
give the same assessment for every example patient."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trd_cds.engine import Engine, FhirDataProvider, ValueSetDirectory
from trd_cds.engine.temporal import DateTime
from trd_cds.rules.convert import to_json

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "fhir_examples"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text("utf-8"))
DEFINES = [
    "TRD Status",
    "Pseudo Resistance",
    "Failed Classes",
    "Trials",
    "Thase Rush Stage",
    "Maudsley Score",
    "Maudsley Band",
    "Suggestions",
    "Safety",
    "Crisis",
]
# cql-exec-fhir types a contained resource as the declared element type (Resource), so
# `C is FHIR.Medication` is false there and a contained Medication is not resolved; ours
# follows the resource's own type. Only that example's interacting-drug finding differs.
KNOWN = {("psychotic-features-ect-first", "Trials"): "contained Medication (cql-exec-fhir)"}

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "cql" / "node_modules" / "cql-execution").is_dir(),
    reason="needs node and cql/node_modules",
)


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, Any]]:
    bundles = [str(EXAMPLES / e["bundle"]) for e in MANIFEST["examples"].values()]
    args = ["node", str(ROOT / "cql" / "tools" / "run-js.mjs"), "--elm", "--as-of", MANIFEST["asOf"]]
    for d in DEFINES:
        args += ["--define", d]
    # The JS engine takes seconds per patient: two processes share the bundles.
    chunks = [bundles[i::2] for i in range(2)]
    procs = [subprocess.Popen([*args, *chunk], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) for chunk in chunks if chunk]
    results: dict[str, dict[str, Any]] = {}
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0
        results.update(json.loads(out))
    return {Path(k).stem: v for k, v in results.items()}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_elm_dir(ROOT / "cql" / "elm")


def normal(value: Any) -> Any:
    """Numbers compared numerically, tuples by their elements."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        return round(float(value), 6)
    return value


@pytest.mark.parametrize("name", sorted(MANIFEST["examples"]))
def test_same_results_as_reference_engine(
    reference: dict[str, dict[str, Any]], engine: Engine, name: str
) -> None:
    bundle = json.loads((EXAMPLES / MANIFEST["examples"][name]["bundle"]).read_text("utf-8"))
    now = DateTime.parse(f"{date.fromisoformat(MANIFEST['asOf']).isoformat()}T00:00:00.000+00:00")
    assert now is not None
    ours = engine.evaluate(
        "TRDAssessment",
        data=FhirDataProvider(e["resource"] for e in bundle["entry"]),
        now=now,
        terminology=ValueSetDirectory.from_directory(ROOT / "cql" / "valuesets"),
        expressions=DEFINES,
    )
    for define in DEFINES:
        if (name, define) in KNOWN:
            continue
        assert normal(to_json(ours[define])) == normal(reference[name][define]), f"{name}: {define}"
