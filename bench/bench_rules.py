"""Rules benchmark: ``TrdRules.assess`` in-process, cold (no result cache), per bundle size.

    python bench/bench_rules.py [--rounds 15] [--sizes 50,300,1000] [--gc-freeze]

Evaluates bundles of 50, 300 and 1000 resources built by ``bench_service.make_bundle`` (each
round a fresh, unique bundle) and the example patients of ``fhir_examples/``, and prints the
median and p90 milliseconds per assessment, wall clock and CPU time of this process (the
latter barely moves when other work shares the machine). Numbers only: it asserts nothing.

``--gc-freeze`` calls ``gc.freeze()`` after loading, as a server may do once its rules are
compiled: full collections then skip the compiled libraries, which shows in the p90.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_service import AS_OF, make_bundle  # noqa: E402

from trd_cds.fhir.patient_data import PatientData  # noqa: E402
from trd_cds.rules import TrdRules  # noqa: E402

EXAMPLES = ROOT / "fhir_examples"


def patient_of(bundle: dict[str, Any]) -> PatientData:
    return PatientData.of(e["resource"] for e in bundle.get("entry", []))


def timed(rules: TrdRules, patient: PatientData, as_of: date) -> tuple[float, float]:
    """(wall, CPU) milliseconds of one assessment."""
    wall, cpu = time.perf_counter(), time.process_time()
    rules.assess(patient, as_of)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def line(label: str, samples: list[tuple[float, float]]) -> None:
    wall = [w for w, _ in samples]
    cpu = [c for _, c in samples]
    print(f"{label:<24} median {statistics.median(wall):8.2f} ms   p90 {p90(wall):8.2f} ms"
          f"   | CPU median {statistics.median(cpu):8.2f} ms   p90 {p90(cpu):8.2f} ms"
          f"   (n={len(samples)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default="50,300,1000")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="move everything loaded out of the collector's reach first")
    args = parser.parse_args()

    started = time.perf_counter()
    rules = TrdRules.load()
    print(f"{'load':<24} {(time.perf_counter() - started) * 1000:8.1f} ms")
    if args.gc_freeze:
        gc.freeze()
    as_of = date.fromisoformat(AS_OF)
    # One throw-away assessment so that first-use costs are not counted as a bundle's.
    timed(rules, patient_of(make_bundle(50, 0)), as_of)

    salt = 1
    for size in (int(s) for s in args.sizes.split(",") if s):
        samples = []
        for _ in range(args.rounds):
            samples.append(timed(rules, patient_of(make_bundle(size, salt)), as_of))
            salt += 1
        line(f"bundle {size} resources", samples)

    manifest = json.loads((EXAMPLES / "manifest.json").read_text("utf-8"))
    examples_as_of = date.fromisoformat(manifest["asOf"])
    patients = [patient_of(json.loads((EXAMPLES / e["bundle"]).read_text("utf-8")))
                for e in manifest["examples"].values()]
    samples = [timed(rules, p, examples_as_of) for _ in range(3) for p in patients]
    line(f"{len(patients)} examples", samples)


if __name__ == "__main__":
    main()
