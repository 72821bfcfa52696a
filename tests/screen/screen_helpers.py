"""What /evaluate answers for each patient of the example export, computed once per test
process: the reference every runner of `trd-cds screen` must equal."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson

from conftest import running_app
from trd_cds.app import create_app
from trd_cds.cards import build_cards
from trd_cds.rules import TrdRules
from trd_cds.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "fhir_examples"
BULK = EXAMPLES / "bulk"
AS_OF = date(2025, 6, 1)
# A budget no loaded machine reaches: these tests are about answers, not timeouts.
SERVICE = Settings(evaluation_timeout_seconds=300)

sys.path.insert(0, str(EXAMPLES))
import build_bulk  # noqa: E402


def bundle_of(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """One patient's resources as a Bundle. The Patient's fullUrl `urn:uuid:<id>` is how a
    Bundle says that `urn:uuid:<id>` references mean that Patient."""
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {"resource": resource}
        if resource["resourceType"] == "Patient":
            entry["fullUrl"] = f"urn:uuid:{resource['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


async def _post_all(bodies: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    app = create_app(SERVICE, rules=TrdRules.load(), card_builder=build_cards)
    answers: dict[str, dict[str, Any]] = {}
    async with running_app(app) as client:
        for name, body in bodies.items():
            response: httpx.Response = await client.post(
                f"/evaluate?asOf={AS_OF.isoformat()}", content=body,
                headers={"content-type": "application/fhir+json"}, timeout=300)
            answers[name] = {"status": response.status_code, **response.json()}
    return answers


@functools.cache
def bulk_answers() -> dict[str, dict[str, Any]]:
    """Patient id → the /evaluate answer for that patient's data in fhir_examples/bulk."""
    bodies = {}
    for resources in build_bulk.export_patients():
        pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
        bodies[pid] = orjson.dumps(bundle_of(resources))
    return asyncio.run(_post_all(bodies))


def example_bundles() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.json") if p.name != "manifest.json")


@functools.cache
def bundle_answers() -> dict[str, dict[str, Any]]:
    """Patient id → the /evaluate answer for each example Bundle file, sent as it is."""
    bodies = {}
    for path in example_bundles():
        document = json.loads(path.read_text(encoding="utf-8"))
        pid = next(e["resource"]["id"] for e in document["entry"]
                   if e["resource"]["resourceType"] == "Patient")
        bodies[pid] = path.read_bytes()
    return asyncio.run(_post_all(bodies))


def copy_bundles(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in example_bundles():
        shutil.copy(path, target / path.name)
    return target


def screened(out: Path) -> dict[str, dict[str, Any]]:
    """Patient id → assessment, from a screen's assessments.ndjson (each patient once)."""
    found: dict[str, dict[str, Any]] = {}
    for line in (out / "assessments.ndjson").read_bytes().splitlines():
        record = orjson.loads(line)
        assert record["patient"] not in found, f"{record['patient']} written twice"
        found[record["patient"]] = record["assessment"]
    return found


def errors(out: Path) -> dict[str, dict[str, Any]]:
    return {r["patient"]: r["outcome"] for r in map(orjson.loads,
                                                      (out / "errors.ndjson").read_bytes().splitlines())}
