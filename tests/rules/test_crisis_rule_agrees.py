"""The crisis fallback is the CQL crisis rule: over the examples and the generated corpus, the
crisis rule read straight from the data (rules/crisis_rule.py) answers exactly what the
assessment's "Crisis" and its evidence in "Details" answer, with default and with overridden
parameters."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import CrisisRule, TrdRules
from trd_cds.rules.crisis_rule import ANSWER_SCORES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "fhir_examples"
AS_OF = date(2025, 6, 1)
# Shorter and stricter than the defaults, so that overrides change answers of the corpus.
OVERRIDES = {"CrisisLookbackDays": 10, "CrisisItem9MinimumScore": 2}


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if "resource" in e]


@pytest.fixture(scope="module")
def patients(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, PatientData]]:
    corpus = tmp_path_factory.mktemp("corpus")
    subprocess.run([sys.executable, str(ROOT / "cql/tools/gen_corpus.py"), str(corpus),
                    "--patients", "120", "--partial", "30"], check=True, capture_output=True)
    files = sorted(EXAMPLES.glob("*.json")) + sorted(corpus.glob("*.json"))
    out = []
    for path in files:
        body = json.loads(path.read_text())
        if body.get("resourceType") == "Bundle":
            out.append((path.name, PatientData.of(_resources(body))))
    assert len(out) > 150
    return out


def _cql_answer(rules: TrdRules, patient: PatientData) -> dict[str, Any] | None:
    assessment = rules.assess(patient, AS_OF)
    if not assessment["crisis"]:
        return None
    details = assessment["details"]
    return {"crisisItem9": details["crisisItem9"],
            "crisisSuicidalIdeationCondition": details["crisisSuicidalIdeationCondition"]}


def _pairs(patients: list[tuple[str, PatientData]], parameters: dict[str, Any]
           ) -> Iterator[tuple[str, Any, Any]]:
    rules, rule = TrdRules.load(parameters or None), CrisisRule.load(parameters or None)
    for name, patient in patients:
        yield name, _cql_answer(rules, patient), rule(patient, AS_OF)


@pytest.mark.parametrize("parameters", [{}, OVERRIDES], ids=["defaults", "overrides"])
def test_the_fallback_agrees_with_the_cql(patients: list[tuple[str, PatientData]],
                                          parameters: dict[str, Any]) -> None:
    differing = [(name, cql, fallback) for name, cql, fallback in _pairs(patients, parameters)
                 if cql != fallback]
    assert differing == []


def test_the_corpus_exercises_both_sides(patients: list[tuple[str, PatientData]]) -> None:
    # A check that cannot fail is none: the corpus must hold crises of both kinds and none.
    answers = [fallback for _, _, fallback in _pairs(patients, {})]
    assert any(a is None for a in answers)
    assert any(a and a["crisisItem9"] for a in answers)
    assert any(a and a["crisisSuicidalIdeationCondition"] for a in answers)


def test_the_answer_scores_are_the_cql_ones() -> None:
    rules = TrdRules.load()
    for code, score in ANSWER_SCORES.items():
        item9 = {"resourceType": "Observation", "id": "o", "status": "final",
                 "code": {"coding": [{"system": "http://loinc.org", "code": "44260-8"}]},
                 "effectiveDateTime": "2025-05-30",
                 "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": code}]}}
        patient = PatientData.of([{"resourceType": "Patient", "id": "p"}, item9])
        details = rules.assess(patient, AS_OF)["details"]
        expected = {"score": score, "takenOn": "2025-05-30"} if score >= 1 else None
        assert details["crisisItem9"] == expected, code
