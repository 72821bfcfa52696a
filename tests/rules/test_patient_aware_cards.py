"""The cards of the patient-aware rules: what they say when an agent is taken now, when
adherence holds escalation back, when a drafted TCA meets suicidality, and with severe renal
impairment; every response valid CDS Hooks."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from test_patient_aware_suggestions import draft, met, statement, with_egfr
from trd_builders import AS_OF, Data

from trd_cds.cards import build_cards
from trd_cds.cards.validate import response_problems
from trd_cds.rules import TrdRules


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def cards(rules: TrdRules, d: Data, drafts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    patient = d.patient()
    hook = "order-sign" if drafts else "patient-view"
    check = rules.check_orders(patient, AS_OF, drafts) if drafts else None
    out = build_cards(rules.assess(patient, AS_OF), hook=hook, draft_orders=drafts or [],
                      order_check=check, patient_id="p")
    assert response_problems({"cards": out}) == []
    return out


def topic(card: dict[str, Any]) -> str:
    return str(card["source"]["topic"]["code"])


def test_augment_card_says_optimise_the_current_augmenter(rules: TrdRules) -> None:
    got = cards(rules, statement(met(), "89013", date(2025, 2, 1), None, 5))
    augment = next(c for c in got if topic(c) == "augment")
    assert "**aripiprazole** is taken now as an augmenter: optimise its dose or replace it" in augment["detail"]
    assert not any("aripiprazole" in s["label"] for s in augment["suggestions"])


def test_adherence_card_says_what_it_holds_back(rules: TrdRules) -> None:
    d = Data().mdd("2023-06-01")
    d.med("sertraline", date(2023, 7, 1), date(2023, 10, 31), 100).phq9(date(2023, 7, 1), 20).phq9(date(2023, 10, 25), 19)
    d.med("bupropion", date(2023, 11, 10), date(2024, 3, 31), 300).phq9(date(2024, 3, 25), 19)
    d.med("venlafaxine", date(2024, 9, 10), None, 150).phq9(date(2025, 5, 20), 18)
    got = cards(rules, d.dispense("venlafaxine", date(2024, 9, 10), 90))
    topics = [topic(c) for c in got]
    assert "address-adherence" in topics
    assert "augment" not in topics and "switch-class" not in topics
    adherence = next(c for c in got if topic(c) == "address-adherence")
    assert "held back meanwhile: augmentation." in adherence["detail"]


def test_drafted_tca_with_suicidality_gets_the_overdose_card(rules: TrdRules) -> None:
    d = met().phq9(AS_OF - timedelta(days=2), 1, item9=True)
    got = cards(rules, d, [draft("d-tca", "5691")])
    overdose = [c for c in got if topic(c) == "safety-overdose-lethality"]
    assert len(overdose) == 1
    assert overdose[0]["summary"].startswith("imipramine is dangerous in overdose")
    assert "baseline ECG" in overdose[0]["detail"]
    assert topic(got[0]) == "crisis"


def test_current_duloxetine_renal_card_states_egfr_and_advice(rules: TrdRules) -> None:
    got = cards(rules, with_egfr(statement(Data().mdd(), "72625", date(2025, 3, 1), None, 60), 24))
    renal = next(c for c in got if topic(c) == "current-renal-dose")
    assert "duloxetine" in renal["summary"] and "24" in renal["summary"]
    assert "duloxetine: avoid with creatinine clearance below 30" in renal["detail"]
