"""Public FHIR R4 data nobody on this project wrote, through POST /evaluate.

Each bundle in `bundles/` is published example or test data (provenance in SOURCES.md); its
expected trials are hand-checked against RULES.md §2 and §12 in expected.json, with the
reasoning in each entry's `note`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from trd_cds.cards import build_cards
from trd_cds.rules import TrdRules
from trd_cds.settings import Settings

HERE = Path(__file__).resolve().parent
BUNDLES = HERE / "bundles"
EXPECTED: dict[str, Any] = json.loads((HERE / "expected.json").read_text("utf-8"))["bundles"]
FILES = sorted(path.name for path in BUNDLES.glob("*.json"))
FHIR_JSON = {"content-type": "application/fhir+json"}
# These tests are about answers, not about timeouts on a loaded machine.
PATIENT = Settings(evaluation_timeout_seconds=60)


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def _trial_view(trial: dict[str, Any]) -> tuple[str, float | None]:
    dose = trial.get("maxDailyDoseMg")
    return trial["ingredient"], None if dose is None else float(dose)


@pytest.mark.parametrize("name", FILES, ids=FILES)
async def test_bundle_gets_exactly_the_expected_trials(
    make_client: Any, rules: TrdRules, name: str
) -> None:
    expected = EXPECTED[name]
    body = (BUNDLES / name).read_bytes()
    async with make_client(PATIENT, rules=rules, card_builder=build_cards) as client:
        response = await client.post(
            f"/evaluate?asOf={expected['asOf']}", content=body, headers=FHIR_JSON
        )
    assert response.status_code == 200, response.text
    trials: list[dict[str, Any]] = response.json()["assessment"]["trials"]
    wanted = sorted(
        (t["ingredient"], None if t["maxDailyDoseMg"] is None else float(t["maxDailyDoseMg"]))
        for t in expected["trials"]
    )
    got = sorted((_trial_view(t) for t in trials), key=lambda v: (v[0], v[1] or 0.0))
    assert got == sorted(wanted, key=lambda v: (v[0], v[1] or 0.0)), expected["note"]
    for trial in trials:
        if trial.get("maxDailyDoseMg") is None:
            assert "dose-unknown" in trial["flags"], f"{trial['ingredient']}: {trial['flags']}"
    assessment = response.json()["assessment"]
    if "trdStatus" in expected:
        assert assessment["trdStatus"] == expected["trdStatus"], expected["note"]
    if "psychoticFeatures" in expected:
        assert assessment["details"]["psychoticFeatures"] is expected["psychoticFeatures"]
    for flag in expected.get("trialFlags", []):
        assert all(flag in t["flags"] for t in trials), f"{flag}: {trials}"
    issues = {f["issue"] for f in assessment["dataQuality"]}
    missing = set(expected.get("dataQualityIssues", [])) - issues
    assert not missing, f"not reported: {missing}"


def test_expected_json_covers_exactly_the_bundles() -> None:
    assert sorted(EXPECTED) == FILES
    for name, entry in EXPECTED.items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["asOf"]), name
        assert entry["note"].strip(), name
        for trial in entry["trials"]:
            assert trial["ingredient"] == trial["ingredient"].lower(), name


def test_sources_lists_every_bundle() -> None:
    sources = (HERE / "SOURCES.md").read_text("utf-8")
    missing = [name for name in FILES if f"`{name}`" not in sources]
    assert not missing, f"SOURCES.md does not list: {missing}"
