"""Order-check benchmark: ``TrdRules.check_orders`` in-process, per number of drafted orders.

    python bench/bench_orders.py [--rounds 3] [--sizes 100,600,1000]

The patient and the drafted order are those of ``fhir_examples/cds-hooks/order-sign-maoi.json``
(an MAOI drafted for a patient on serotonergic drugs); each size drafts that order that many
times under distinct ids, or (``mixed``) cycles it with three serotonergic drugs, so that every
draft conflicts with the others. Prints the median milliseconds and findings per size, and the
growth of the cost against the smallest size next to the growth of the number of orders: a
linear check shows about the same two ratios. Numbers only: it asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))

from trd_cds.fhir.patient_data import PatientData  # noqa: E402
from trd_cds.rules import TrdRules  # noqa: E402

REQUEST = ROOT / "fhir_examples" / "cds-hooks" / "order-sign-maoi.json"
AS_OF = date(2025, 6, 1)
# phenelzine (the example's draft), sertraline, escitalopram, venlafaxine
MIXED_CODES = ("312347", "36437", "321988", "39786")


def prefetched(request: dict[str, Any]) -> PatientData:
    resources: list[dict[str, Any]] = []
    for value in request["prefetch"].values():
        if value is None:
            continue
        if value["resourceType"] == "Bundle":
            resources += [entry["resource"] for entry in value.get("entry", [])]
        else:
            resources.append(value)
    return PatientData.of(resources)


def drafts(template: dict[str, Any], count: int, mixed: bool) -> list[dict[str, Any]]:
    out = []
    for n in range(count):
        order = copy.deepcopy(template)
        order["id"] = f"draft-{n}"
        if mixed:
            coding = order["medicationCodeableConcept"]["coding"][0]
            coding["code"] = MIXED_CODES[n % len(MIXED_CODES)]
            coding.pop("display", None)
        out.append(order)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="100,600,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    rules = TrdRules.load()
    request = json.loads(REQUEST.read_text("utf-8"))
    patient = prefetched(request)
    template = request["context"]["draftOrders"]["entry"][0]["resource"]
    rules.check_orders(patient, AS_OF, drafts(template, 2, False))  # first-use costs

    for mixed in (False, True):
        label = "mixed drugs" if mixed else "same drug"
        medians: list[float] = []
        for size in sizes:
            orders = drafts(template, size, mixed)
            samples = []
            findings = 0
            for _ in range(args.rounds):
                started = time.perf_counter()
                findings = len(rules.check_orders(patient, AS_OF, orders)["findings"])
                samples.append((time.perf_counter() - started) * 1000)
            medians.append(statistics.median(samples))
            growth = medians[-1] / medians[0]
            print(f"{label:<12} {size:>5} orders  median {medians[-1]:9.1f} ms"
                  f"   {findings:>6} findings   cost x{growth:5.1f} for orders"
                  f" x{size / sizes[0]:5.1f}")


if __name__ == "__main__":
    main()
