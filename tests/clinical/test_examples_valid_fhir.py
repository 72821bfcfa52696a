"""The example bundles and CDS Hooks requests are valid FHIR R4 (R4B models, identical for
every resource used here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationrequest import MedicationRequest

EXAMPLES = Path(__file__).resolve().parents[2] / "fhir_examples"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(MANIFEST["examples"]))
def test_bundle_is_valid_fhir(name: str) -> None:
    bundle = Bundle.model_validate_json((EXAMPLES / MANIFEST["examples"][name]["bundle"]).read_bytes())
    assert bundle.type == "collection"
    types = {e.resource.__resource_type__ for e in bundle.entry or []}
    assert {"Patient", "Condition"} <= types


@pytest.mark.parametrize("path", sorted((EXAMPLES / "cds-hooks").glob("*.json")), ids=lambda p: p.stem)
def test_cds_hooks_request(path: Path) -> None:
    request = json.loads(path.read_text("utf-8"))
    assert request["hook"] in {"patient-view", "order-sign"}
    assert request["context"]["patientId"]
    for value in (request.get("prefetch") or {}).values():
        if value.get("resourceType") == "Bundle":
            Bundle.model_validate(value)
    drafts = request["context"].get("draftOrders")
    if drafts:
        for entry in drafts["entry"]:
            assert MedicationRequest.model_validate(entry["resource"]).status == "draft"
