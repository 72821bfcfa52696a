"""For every rule of safety_rules.csv that removes suggestions: a patient in that state gets no
card suggestion (augment, switch, dose optimisation, referral) of the forbidden agent, while
the same patient without the state does get it - so each test shows the rule at work, not an
agent that was never on offer. The agents are read from the FHIR resources of the actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from safety_oracle import Med, Spec, suggested_agents

from trd_cds.cards import build_cards
from trd_cds.cards.validate import response_problems
from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import TrdRules

AS_OF = date(2025, 6, 1)


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


def met(birth: str = "1980-01-01") -> Spec:
    """Failed sertraline (SSRI), then venlafaxine (SNRI) taken now without response: TRD met;
    augmentation (bupropion included: the current drug is an SNRI), switching to bupropion,
    mirtazapine, vortioxetine or imipramine, and esketamine are all on offer."""
    return Spec(AS_OF, date.fromisoformat(birth),
                meds=[Med("sertraline", date(2024, 6, 1), date(2024, 8, 31), 100),
                      Med("venlafaxine", date(2024, 9, 10), None, 150)],
                phq9=[(date(2024, 6, 1), 20), (date(2024, 8, 25), 19), (date(2025, 5, 20), 18)])


def stage_three(tca_stopped_days_ago: int) -> Spec:
    """SSRI, SNRI and TCA failed: phenelzine (MAOI) becomes a switch option, once the
    imipramine washout has passed."""
    end = days_ago(tca_stopped_days_ago)
    return Spec(AS_OF, date(1980, 1, 1),
                meds=[Med("sertraline", date(2024, 1, 1), date(2024, 3, 31), 100),
                      Med("venlafaxine", date(2024, 4, 10), date(2024, 7, 31), 150),
                      Med("imipramine", end - timedelta(days=90), end, 200)],
                phq9=[(date(2024, 1, 1), 21), (date(2024, 3, 25), 20), (date(2024, 7, 25), 19),
                      (end - timedelta(days=90), 20), (end - timedelta(days=5), 19)])


def low_dose(drug: str, mg: float, birth: str = "1980-01-01") -> Spec:
    """A current trial below the minimum adequate dose: dose optimisation of that drug."""
    return Spec(AS_OF, date.fromisoformat(birth), meds=[Med(drug, days_ago(60), None, mg)],
                phq9=[(days_ago(60), 18), (days_ago(5), 17)])


def cards(rules: TrdRules, spec: Spec) -> list[dict[str, Any]]:
    patient = PatientData.of(spec.resources())
    drafts = spec.draft_orders()
    findings = rules.check_orders(patient, AS_OF, drafts) if drafts else None
    built = build_cards(rules.assess(patient, AS_OF), hook="order-sign" if drafts else "patient-view",
                        draft_orders=drafts, order_check=findings, patient_id="p")
    assert response_problems({"cards": built}) == []
    return built


def offered(rules: TrdRules, spec: Spec) -> dict[str, set[str]]:
    return suggested_agents(cards(rules, spec))


def with_conditions(spec: Spec, *names: str) -> Spec:
    return replace(spec, conditions=spec.conditions | set(names))


CASES: list[tuple[str, Spec, Spec, set[str]]] = [
    # (rule, patient without the state, the same patient in the state, agents it forbids)
    ("maoi-serotonergic: MAOI taken now", met(),
     replace(met(), meds=[*met().meds, Med("phenelzine", date(2024, 9, 1), None, 45)]),
     {"bupropion", "mirtazapine", "vortioxetine", "imipramine"}),
    ("maoi-serotonergic: MAOI drafted", met(), replace(met(), drafts=["phenelzine"]),
     {"bupropion", "mirtazapine", "vortioxetine", "imipramine"}),
    ("maoi-serotonergic: serotonergic opioid taken now", stage_three(60),
     replace(stage_three(60), meds=[*stage_three(60).meds, Med("tramadol", days_ago(10), None, 50)]),
     {"phenelzine"}),
    ("maoi-serotonergic: SSRI drafted", stage_three(60), replace(stage_three(60), drafts=["sertraline"]),
     {"phenelzine"}),
    ("maoi-washout: MAOI stopped 5 days ago", met(),
     replace(met(), meds=[*met().meds, Med("phenelzine", date(2024, 6, 1), days_ago(5), 45)]),
     {"bupropion", "mirtazapine", "vortioxetine", "imipramine"}),
    ("maoi-washout: TCA stopped 5 days ago", stage_three(60), stage_three(5), {"phenelzine"}),
    ("bupropion-seizure: seizure disorder", met(), with_conditions(met(), "seizure"), {"bupropion"}),
    ("bupropion-seizure: eating disorder", met(), with_conditions(met(), "eating"), {"bupropion"}),
    ("lithium-monitoring: eGFR below 30", replace(met(), egfr=30), replace(met(), egfr=29),
     {"lithium"}),
    ("esketamine-contraindication: aneurysm", met(), with_conditions(met(), "aneurysm"),
     {"esketamine"}),
    ("esketamine-contraindication: AVM", met(), with_conditions(met(), "avm"), {"esketamine"}),
    ("esketamine-contraindication: haemorrhage", met(), with_conditions(met(), "ich"),
     {"esketamine"}),
    ("esketamine-contraindication: hypertension", replace(met(), bp=(139, 89)),
     replace(met(), bp=(150, 85)), {"esketamine"}),
    ("older-adult: TCA switch", met(), met(birth="1950-01-01"), {"imipramine"}),
    ("older-adult: TCA dose", low_dose("nortriptyline", 50),
     low_dose("nortriptyline", 50, birth="1955-01-01"), {"nortriptyline"}),
    ("older-adult: paroxetine dose", low_dose("paroxetine", 10),
     low_dose("paroxetine", 10, birth="1955-01-01"), {"paroxetine"}),
    ("pregnancy: lithium and esketamine", met(), with_conditions(met(), "pregnant"),
     {"lithium", "esketamine"}),
    ("pregnancy: paroxetine dose", low_dose("paroxetine", 10),
     with_conditions(low_dose("paroxetine", 10), "pregnant"), {"paroxetine"}),
    ("bipolar-exclusion", met(), with_conditions(met(), "bipolar"),
     {"bupropion", "mirtazapine", "vortioxetine", "imipramine", "esketamine"}),
]


@pytest.mark.parametrize(("control", "state", "agents"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule_removes_the_agent_from_every_suggestion(
        rules: TrdRules, control: Spec, state: Spec, agents: set[str]) -> None:
    before = offered(rules, control)
    assert agents <= set(before), f"control patient should be offered {agents - set(before)}"
    assert agents <= control.forbidden() ^ agents  # the oracle allows them to the control
    after = offered(rules, state)
    assert not agents & set(after), {a: after[a] for a in agents & set(after)}
    assert agents <= state.forbidden()  # and the oracle agrees they are forbidden
    assert not state.forbidden() & set(after)


def test_bipolar_patient_gets_no_order_at_all(rules: TrdRules) -> None:
    got = cards(rules, with_conditions(met(), "bipolar"))
    assert [c["source"]["topic"]["code"] for c in got] == ["review-diagnosis"]


def test_drafted_maoi_drops_dose_optimisation_of_the_ssri(rules: TrdRules) -> None:
    control = low_dose("sertraline", 25)
    assert "optimize-dose" in offered(rules, control).get("sertraline", set())
    got = cards(rules, replace(control, drafts=["phenelzine"]))
    topics = [c["source"]["topic"]["code"] for c in got]
    assert "optimize-dose" not in topics
    assert topics[0] == "safety-maoi-serotonergic"
    assert "drafted MAOI **phenelzine** would be taken with the serotonergic sertraline (taken now)" in (
        got[0]["detail"])
