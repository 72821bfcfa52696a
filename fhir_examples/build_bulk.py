#!/usr/bin/env python3
"""Write ``fhir_examples/bulk/``: a small FHIR Bulk Data export shaped like a real one.

    python fhir_examples/build_bulk.py [--out DIR] [--corpus 40] [--partial 12]

The patients are the example stories of this folder plus generated ones
(``cql/tools/gen_corpus.py``, some with partial dates). They are written the way a `$export`
writes them: one NDJSON file per resource type (the large types gzipped), an `$export`
manifest, and the shapes EHR exports have:

- Medication resources in their own file, shared: several patients' records reference one
  formulary Medication (``Medication/formulary-<rxcui>``);
- Medications contained in the record that uses them (``#med``);
- patients referenced as ``Patient/<id>`` by some exports and as ``urn:uuid:<id>`` by others;
- dates known to the month or year only (the generated partial-date patients);
- records that cannot be used: a Condition whose Patient is missing from the export and a
  Practitioner (no patient's record).

The same arguments always write the same bytes (gzip without a timestamp).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "cql" / "tools"))

import gen_corpus  # noqa: E402

AS_OF = date(2025, 6, 1)
SEED = 20251203
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
GZIPPED = ("Observation", "MedicationDispense")
TRANSACTION_TIME = "2025-06-01T02:00:00Z"


def _story_bundles() -> Iterator[dict[str, Any]]:
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    for example in manifest["examples"].values():
        yield json.loads((HERE / example["bundle"]).read_text(encoding="utf-8"))


def _corpus_bundles(count: int, partial: int) -> Iterator[dict[str, Any]]:
    corpus = gen_corpus.Corpus(SEED, AS_OF)
    for i in range(count):
        yield corpus.bundle(i)
    imprecise = gen_corpus.Corpus(SEED + 1, AS_OF)
    for i in range(partial):
        yield gen_corpus.partial_bundle(imprecise, i)


def _rxnorm_code(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if coding.get("system") == RXNORM and coding.get("code"):
            return str(coding["code"])
    return None


def export_patients(corpus: int = 40, partial: int = 12) -> list[list[dict[str, Any]]]:
    """Each patient's resources as the export holds them (the Medications they reference
    included), in the order they were made; the test of `screen` evaluates them as Bundles."""
    patients: list[list[dict[str, Any]]] = []
    formulary: dict[str, dict[str, Any]] = {}
    bundles = [*_story_bundles(), *_corpus_bundles(corpus, partial)]
    for index, bundle in enumerate(bundles):
        resources = [entry["resource"] for entry in bundle["entry"]]
        pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
        style = index % 3  # 0: Patient/<id>; 1: urn:uuid:<id>; 2: Patient/<id>, contained meds
        out: list[dict[str, Any]] = []
        for resource in resources:
            resource = json.loads(json.dumps(resource))
            for element in ("subject", "patient"):
                ref = resource.get(element)
                if style == 1 and isinstance(ref, dict) and ref.get("reference") == f"Patient/{pid}":
                    ref["reference"] = f"urn:uuid:{pid}"
            concept = resource.get("medicationCodeableConcept")
            code = _rxnorm_code(concept)
            if code is not None and resource["resourceType"].startswith("Medication"):
                if style == 2:
                    del resource["medicationCodeableConcept"]
                    resource["contained"] = [{"resourceType": "Medication", "id": "med",
                                              "code": concept}]
                    resource["medicationReference"] = {"reference": "#med"}
                elif len(out) % 2 == 0:
                    # One formulary Medication per code, the same for every patient using it.
                    medication = formulary.setdefault(code, {
                        "resourceType": "Medication", "id": f"formulary-{code}", "code": concept})
                    del resource["medicationCodeableConcept"]
                    resource["medicationReference"] = {"reference": f"Medication/{medication['id']}"}
                    if medication not in out:
                        out.append(medication)
            out.append(resource)
        patients.append(out)
    return patients


def _ndjson(resources: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, sort_keys=True, separators=(",", ":")).encode() + b"\n"
                    for r in resources)


def write_export(out: Path, corpus: int = 40, partial: int = 12) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.ndjson"), *out.glob("*.ndjson.gz"), *out.glob("manifest.json")]:
        old.unlink()
    by_type: dict[str, list[dict[str, Any]]] = {}
    medications: dict[str, dict[str, Any]] = {}
    for resources in export_patients(corpus, partial):
        for resource in resources:
            if resource["resourceType"] == "Medication":
                # Formulary entries are shared: one line however many patients use them.
                medications.setdefault(resource["id"], resource)
            else:
                by_type.setdefault(resource["resourceType"], []).append(resource)
    by_type["Medication"] = [medications[k] for k in sorted(medications)]
    # What a real export also holds: a record of a patient the export left out, and a
    # resource that is nobody's record. Neither can be assessed; the screen reports both.
    by_type["Condition"].append({
        "resourceType": "Condition", "id": "orphan-condition-1",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.1"}]},
        "subject": {"reference": "Patient/not-in-this-export"},
    })
    by_type["Practitioner"] = [{"resourceType": "Practitioner", "id": "prac-1",
                                "name": [{"family": "Example"}]}]
    paths = []
    for kind in sorted(by_type):
        data = _ndjson(by_type[kind])
        if kind in GZIPPED:
            path = out / f"{kind}.ndjson.gz"
            path.write_bytes(gzip.compress(data, mtime=0))
        else:
            path = out / f"{kind}.ndjson"
            path.write_bytes(data)
        paths.append(path)
    manifest = {
        "transactionTime": TRANSACTION_TIME,
        "request": "[base]/$export?_type=Patient,Condition,Observation,MedicationStatement,"
                   "MedicationRequest,MedicationDispense,Medication,Procedure,Practitioner",
        "requiresAccessToken": True,
        "output": [{"type": kind, "url": path.name} for kind, path in zip(sorted(by_type), paths, strict=True)],
        "error": [],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", type=Path, default=HERE / "bulk")
    ap.add_argument("--corpus", type=int, default=40)
    ap.add_argument("--partial", type=int, default=12)
    args = ap.parse_args()
    paths = write_export(args.out, args.corpus, args.partial)
    print(f"{len(paths)} files in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
