"""The documented walk-through: `trd-cds evaluate fhir_examples/classic-trd.json --as-of
2025-06-01` prints an augmentation card whose first (recommended) suggestion orders an
antipsychotic or lithium at its starting dose of augmentation_agents.csv."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson

CHECKOUT = Path(__file__).resolve().parents[2]
# augmentation_agents.csv: agent -> (RxNorm, starting dose in mg/day), antipsychotics and lithium.
STARTING_DOSES = {"aripiprazole": ("89013", 2), "brexpiprazole": ("1658314", 0.5),
                  "quetiapine": ("51272", 50), "cariprazine": ("1667655", 1.5),
                  "olanzapine": ("61381", 6), "lithium": ("6448", 300)}


def _command() -> list[str]:
    beside = Path(sys.executable).parent / "trd-cds"
    found = str(beside) if beside.exists() else shutil.which("trd-cds")
    assert found, "the trd-cds console script is not installed"
    return [found]


def test_classic_trd_prints_an_augmentation_card_at_the_starting_dose() -> None:
    done = subprocess.run(
        [*_command(), "evaluate", "fhir_examples/classic-trd.json", "--as-of", "2025-06-01"],
        cwd=CHECKOUT, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    cards = orjson.loads(done.stdout)["cards"]
    augment = next(c for c in cards if c["source"]["topic"]["code"] == "augment")
    first = augment["suggestions"][0]
    assert first["isRecommended"] is True
    action = first["actions"][0]
    assert action["type"] == "create"
    resource = action["resource"]
    assert resource["resourceType"] == "MedicationRequest"
    assert resource["subject"] == {"reference": "Patient/classic-trd"}
    agent = resource["medicationCodeableConcept"]["text"]
    assert agent in STARTING_DOSES, agent
    rxcui, dose = STARTING_DOSES[agent]
    assert resource["medicationCodeableConcept"]["coding"][0]["code"] == rxcui
    quantity = resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (quantity["value"], quantity["code"]) == (dose, "mg")
    assert resource["dosageInstruction"][0]["timing"]["repeat"] == {
        "frequency": 1, "period": 1, "periodUnit": "d"}
    assert f"{agent} {dose:g} mg/day" in first["label"]
