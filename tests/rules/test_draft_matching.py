"""The cards find "the drafted order of this drug" from what the CQL read in the draft's codes,
never from its wording: a drafted desvenlafaxine is not a renewal of venlafaxine, nor
trimipramine of imipramine, nor levomilnacipran of milnacipran."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from trd_builders import AS_OF, RX, Data

from trd_cds.cards import build_cards
from trd_cds.rules import TrdRules

# (current drug, its RxNorm code, the drafted drug whose name contains it, its code)
LOOKALIKES = [
    ("venlafaxine", "39786", "desvenlafaxine", "734064", 150),
    ("imipramine", "5691", "trimipramine", "10834", 150),
    ("milnacipran", "588250", "levomilnacipran", "1433212", 100),
]


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def _patient(code: str, mg: float) -> Data:
    """A failed sertraline, then the current drug at an adequate dose without response."""
    d = Data().mdd()
    d.med("sertraline", date(2024, 6, 1), date(2024, 8, 31), 100)
    d.phq9(date(2024, 6, 1), 20).phq9(date(2024, 8, 25), 19)
    d.add({"resourceType": "MedicationStatement", "status": "active",
           "medicationCodeableConcept": {"coding": [{"system": RX, "code": code}]},
           "effectivePeriod": {"start": "2024-09-10"},
           "dosage": [{"doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "code": "mg"}}]}]})
    return d.phq9(date(2025, 5, 20), 18)


def _draft(oid: str, code: str, display: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": oid, "status": "draft", "intent": "order",
            "subject": {"reference": "Patient/p"},
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": code, "display": display}],
                                          "text": display}}


def _actions(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for c in cards if c["source"]["topic"]["code"] in {"switch-class", "optimize-dose"}
            for s in c.get("suggestions", []) for a in s["actions"]]


@pytest.mark.parametrize(("current", "code", "drafted", "drafted_code", "mg"), LOOKALIKES)
def test_a_lookalike_draft_is_not_taken_for_the_current_drug(
        rules: TrdRules, current: str, code: str, drafted: str, drafted_code: str, mg: float) -> None:
    patient = _patient(code, mg).patient()
    assessment = rules.assess(patient, AS_OF)
    assert assessment["details"]["currentTrialIngredient"] == current
    draft = _draft("d-1", drafted_code, drafted)
    check = rules.check_orders(patient, AS_OF, [draft])
    assert check["drafts"] == [{"orderId": "d-1", "drug": drafted}]
    actions = _actions(build_cards(assessment, hook="order-sign", draft_orders=[draft],
                                   order_check=check, patient_id="p"))
    assert actions, "the patient needs a switch or dose card for this test to mean anything"
    for act in actions:
        # A new order: the drafted lookalike is neither updated nor its code reused.
        assert act["type"] == "create"
        assert act["resource"].get("id") != "d-1"
        assert drafted_code not in str(act["resource"]["medicationCodeableConcept"])


def test_a_draft_of_the_current_drug_is_renewed(rules: TrdRules) -> None:
    patient = _patient("39786", 150).patient()
    assessment = rules.assess(patient, AS_OF)
    draft = _draft("d-2", "39786", "venlafaxine")
    check = rules.check_orders(patient, AS_OF, [draft])
    cards = build_cards(assessment, hook="order-sign", draft_orders=[draft], order_check=check,
                        patient_id="p")
    switch = [a for a in _actions(cards) if a["resource"].get("id") == "d-2"]
    assert switch and all(a["type"] == "update" for a in switch)
