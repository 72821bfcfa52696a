"""Engine benchmark: our Python engine against the reference JS engine on the same ELM and data.

    python bench/bench_engine.py [--library TRDAssessment] [--patients 20] [--rounds 5]
                                 [--reference-rounds 1]

Generates synthetic patient bundles (a depression history with antidepressant trials, PHQ-9
scores, blood pressure, conditions), evaluates every Patient-context define of the library
with our engine and with cql-execution (``cql/tools/reference-run.mjs --timing``), and prints
the median warm time per patient, the ratios, and how long loading all the ELM takes.
cql-execution runs twice: fair (``--fair``: one context per included library and one-operand
function results kept per patient, the work our engine saves too), the headline, and plain
(as shipped), beside it: the plain ratio mostly measures cql-execution's repeated work.
Defines that raise errors are counted and reported, so a fast but failing run is visible.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))

from trd_cds.engine import Engine, FhirDataProvider, ValueSetDirectory  # noqa: E402
from trd_cds.engine.datatypes.temporal import DateTime  # noqa: E402

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"


def valueset_codes(valueset_dir: Path, name: str) -> list[tuple[str, str]]:
    """(system, code) pairs of a ValueSet file, from its expansion or its compose."""
    path = valueset_dir / f"{name}.json"
    if not path.exists():
        return []
    vs = json.loads(path.read_text(encoding="utf-8"))
    if "expansion" in vs:
        return [(c["system"], c["code"]) for c in vs["expansion"].get("contains", []) if "code" in c]
    return [(inc["system"], c["code"]) for inc in vs.get("compose", {}).get("include", [])
            for c in inc.get("concept", [])]


def make_bundle(rng: random.Random, index: int, as_of: date,
                antidepressants: list[tuple[str, str]]) -> dict[str, Any]:
    pid = f"bench-{index:04d}"
    subject = {"reference": f"Patient/{pid}"}
    resources: list[dict[str, Any]] = [{
        "resourceType": "Patient", "id": pid, "gender": rng.choice(["female", "male"]),
        "birthDate": (as_of - timedelta(days=rng.randint(20 * 365, 80 * 365))).isoformat(),
    }]
    onset = as_of - timedelta(days=rng.randint(200, 1500))
    resources.append({
        "resourceType": "Condition", "id": f"{pid}-mdd", "subject": subject,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": "confirmed"}]},
        "code": {"coding": [{"system": SNOMED, "code": "370143000",
                             "display": "Major depressive disorder"}]},
        "onsetDateTime": onset.isoformat(),
    })
    if rng.random() < 0.3:
        resources.append({
            "resourceType": "Condition", "id": f"{pid}-htn", "subject": subject,
            "code": {"coding": [{"system": ICD10, "code": "I10"}]},
            "onsetDateTime": (onset - timedelta(days=400)).isoformat(),
        })
    start = onset + timedelta(days=14)
    for trial in range(rng.randint(1, 4)):
        system, code = rng.choice(antidepressants)
        weeks = rng.randint(3, 16)
        end = start + timedelta(weeks=weeks)
        status = "active" if end > as_of else rng.choice(["completed", "stopped"])
        statement: dict[str, Any] = {
            "resourceType": "MedicationStatement", "id": f"{pid}-ms{trial}", "status": status,
            "subject": subject,
            "medicationCodeableConcept": {"coding": [{"system": system, "code": code}]},
            "effectivePeriod": {"start": start.isoformat()} if status == "active"
            else {"start": start.isoformat(), "end": min(end, as_of).isoformat()},
            "dosage": [{
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": rng.choice([10, 20, 50, 75, 100, 150]),
                                                  "unit": "mg", "system": UCUM, "code": "mg"}}],
            }],
        }
        if status == "stopped":
            statement["statusReason"] = [{"coding": [{"system": SNOMED, "code": "410536001"}]}]
        resources.append(statement)
        start = end + timedelta(days=rng.randint(0, 30))
        if start >= as_of:
            break
    day = onset
    n = 0
    while day < as_of:
        resources.append(observation(pid, f"phq{n}", LOINC, "44261-6", day, rng.randint(5, 27), "{score}"))
        resources.append(observation(pid, f"item9-{n}", LOINC, "44260-8", day, rng.randint(0, 3), "{score}"))
        resources.append(observation(pid, f"sbp{n}", LOINC, "8480-6", day, rng.randint(105, 165), "mm[Hg]"))
        day += timedelta(days=rng.randint(20, 60))
        n += 1
    if rng.random() < 0.3:
        resources.append({
            "resourceType": "Procedure", "id": f"{pid}-cbt", "status": "completed", "subject": subject,
            "code": {"coding": [{"system": SNOMED, "code": "304891004"}]},
            "performedDateTime": (onset + timedelta(days=60)).isoformat(),
        })
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}


def observation(pid: str, suffix: str, system: str, code: str, day: date, value: int,
                unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": f"{pid}-{suffix}", "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": system, "code": code}]},
        "effectiveDateTime": f"{day.isoformat()}T09:00:00Z",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def bench_ours(engine: Engine, library: str, bundles: list[dict[str, Any]], now: DateTime,
               terminology: Any, rounds: int) -> tuple[list[float], int, int]:
    lib = engine.library(library)
    names = [n for n, d in lib.defs.items() if d.context == "Patient"]
    per_patient: list[list[float]] = [[] for _ in bundles]
    errored = 0
    for round_no in range(rounds + 1):
        for i, bundle in enumerate(bundles):
            t0 = time.perf_counter()
            ctx = engine.context(lib, data=FhirDataProvider.from_bundle(bundle), now=now,
                                 terminology=terminology)
            for name in names:
                evaluator = lib.defs[name].evaluator
                try:
                    assert evaluator is not None
                    evaluator(ctx)
                except Exception:
                    if round_no == 0:
                        errored += 1
            if round_no > 0:
                per_patient[i].append(time.perf_counter() - t0)
    return [median_ms(s) for s in per_patient], errored, len(names)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--library", default="TRDAssessment")
    ap.add_argument("--patients", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5, help="timed warm rounds of our engine")
    # cql-execution does not cache define results, so layered libraries take seconds per
    # patient there: one timed round keeps the benchmark to a few minutes.
    ap.add_argument("--reference-rounds", type=int, default=1,
                    help="timed warm rounds of cql-execution")
    ap.add_argument("--as-of", default="2025-06-01")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--elm-dir", default=str(ROOT / "cql" / "elm"))
    ap.add_argument("--valuesets", default=str(ROOT / "cql" / "valuesets"))
    args = ap.parse_args(argv)

    elm_dir, vs_dir = Path(args.elm_dir), Path(args.valuesets)
    as_of = date.fromisoformat(args.as_of)
    rng = random.Random(args.seed)
    antidepressants = (valueset_codes(vs_dir, "antidepressant-ssri")
                       + valueset_codes(vs_dir, "antidepressant-snri")) or [(RXNORM, "36437")]
    bundles = [make_bundle(rng, i, as_of, antidepressants) for i in range(args.patients)]
    entries = statistics.mean(len(b["entry"]) for b in bundles)

    loads = []
    for _ in range(5):
        t0 = time.perf_counter()
        engine = Engine.from_elm_dir(elm_dir)
        loads.append(time.perf_counter() - t0)
    terminology = ValueSetDirectory.from_directory(vs_dir) if vs_dir.is_dir() else None
    now = DateTime(as_of.year, as_of.month, as_of.day, 0, 0, 0, 0, Decimal(0))
    ours, our_errors, defines = bench_ours(engine, args.library, bundles, now, terminology,
                                           args.rounds)

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, b in enumerate(bundles):
            f = Path(tmp) / f"bundle-{i:04d}.json"
            f.write_text(json.dumps(b), encoding="utf-8")
            files.append(str(f))
        fair = reference_timing(args, elm_dir, vs_dir, files, fair=True)
        plain = reference_timing(args, elm_dir, vs_dir, files, fair=False)
    if fair is None or plain is None:
        return 1

    ours_ms = statistics.median(ours)
    fair_ms = statistics.median(fair["perPatientMs"])
    plain_ms = statistics.median(plain["perPatientMs"])
    print(f"library {args.library}: {defines} Patient defines, {args.patients} patients, "
          f"{entries:.0f} resources per bundle on average, warm rounds: ours {args.rounds}, "
          f"cql-execution {args.reference_rounds}")
    print(f"ELM load (all of {elm_dir.name}/, compile included): ours {median_ms(loads):.1f} ms; "
          f"cql-execution {fair['loadMs']:.1f} ms")
    print("median warm ms per patient (all in this run):")
    print(f"  ours                                  {ours_ms:9.2f}")
    print(f"  cql-execution, fair                   {fair_ms:9.2f}   "
          f"cql-execution/ours {fair_ms / ours_ms:6.1f}x   <- the engine comparison")
    print(f"  cql-execution, plain                  {plain_ms:9.2f}   "
          f"cql-execution/ours {plain_ms / ours_ms:6.1f}x")
    print("  fair: one context per included library and one-operand function results kept per")
    print("  patient, as our engine does. plain: cql-execution as shipped, which keeps a context")
    print("  per include path (a define reached by several paths is evaluated once per path) and")
    print("  calls functions afresh each time; most of the plain ratio is that repeated work,")
    print("  not a faster engine.")
    print(f"p90 warm ms per patient:    ours {quantile(ours, 0.9):.2f}  "
          f"cql-execution fair {quantile(fair['perPatientMs'], 0.9):.2f}  "
          f"plain {quantile(plain['perPatientMs'], 0.9):.2f}")
    print(f"defines that raised errors (first round, all patients): ours {our_errors}, "
          f"cql-execution fair {fair['erroredDefines']}, plain {plain['erroredDefines']}")
    return 0


def reference_timing(args: argparse.Namespace, elm_dir: Path, vs_dir: Path, files: list[str],
                     fair: bool) -> dict[str, Any] | None:
    """cql-execution's warm timings of the bundle files (reference-run.mjs --timing)."""
    proc = subprocess.run(
        ["node", str(ROOT / "cql" / "tools" / "reference-run.mjs"), "--timing",
         str(args.reference_rounds), *(["--fair"] if fair else []),
         "--library", args.library, "--elm-dir", str(elm_dir), "--valuesets", str(vs_dir),
         "--as-of", args.as_of, "--bundles", *files],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr.strip(), file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


if __name__ == "__main__":
    raise SystemExit(main())
