"""Property: over generated patients (trials of random antidepressants at random doses and
durations, PHQ-9 series, comorbidities, age, pregnancy, eGFR, blood pressure) and random draft
orders, the real rules and card builder never suggest an agent that safety_rules.csv forbids
for that patient (the independent oracle of ``safety_oracle``), and every response is valid
CDS Hooks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safety_oracle import ANTIDEPRESSANTS, MAOIS, Med, Spec, suggested_agents

from trd_cds.cards import build_cards
from trd_cds.cards.validate import response_problems
from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import TrdRules

AS_OF = date(2025, 6, 1)
# Weighted lists: the usual first and second steps (so that TRD is often met and every
# suggestion path is taken), and MAOIs, whose rules are the ones most worth hitting.
COMMON = ["sertraline", "escitalopram", "fluoxetine", "venlafaxine", "duloxetine", "bupropion"]
RECORDED = [*ANTIDEPRESSANTS, *COMMON, *COMMON, *sorted(MAOIS), "aripiprazole", "lithium",
            "tramadol", "methadone"]
DRAFTABLE = [*ANTIDEPRESSANTS, "aripiprazole", "quetiapine", "lithium",
             "esketamine", "tramadol", "linezolid"]
STATES = ["pregnant", "bipolar", "seizure", "eating", "aneurysm", "avm", "ich", "substance"]


@st.composite
def trials(draw: st.DrawFn) -> list[tuple[Med, list[tuple[date, int]]]]:
    """Consecutive courses over the last two years, mostly long enough and at an adequate dose
    with little change in PHQ-9 (so that TRD, and with it every suggestion path, is common)."""
    out = []
    cursor = AS_OF - timedelta(days=draw(st.integers(300, 700)))
    for _ in range(draw(st.integers(0, 4))):
        drug = draw(st.sampled_from(RECORDED))
        start = cursor
        length = draw(st.one_of(st.integers(0, 40), st.integers(50, 150)))
        end: date | None = start + timedelta(days=length)
        if end is not None and (end >= AS_OF or draw(st.integers(0, 5)) == 0):
            end = None if draw(st.booleans()) else min(end, AS_OF)
        if drug in ANTIDEPRESSANTS:
            low, high = ANTIDEPRESSANTS[drug][2], ANTIDEPRESSANTS[drug][3]
            mg = draw(st.sampled_from([low, high, low, low / 2]))
        else:
            mg = 50.0
        baseline = draw(st.integers(12, 27))
        outcome = draw(st.one_of(st.just(baseline - 1), st.integers(0, 27)))
        last = min(end or AS_OF, AS_OF)
        out.append((Med(drug, start, end, mg),
                    [(start, baseline), (max(start, last - timedelta(days=2)), outcome)]))
        cursor = last + timedelta(days=draw(st.integers(1, 40)))
        if cursor > AS_OF:
            break
    return out


@st.composite
def patients(draw: st.DrawFn) -> Spec:
    age = draw(st.integers(16, 85))
    birth = AS_OF - timedelta(days=age * 365 + draw(st.integers(0, 364)))
    conditions = set(draw(st.lists(st.sampled_from(STATES), max_size=2)))
    if draw(st.integers(0, 9)):
        conditions.add("mdd")
    courses = draw(trials())
    return Spec(
        AS_OF, birth, conditions,
        meds=[m for m, _ in courses],
        phq9=[s for _, scores in courses for s in scores],
        egfr=draw(st.one_of(st.none(), st.integers(10, 100).map(float))),
        bp=draw(st.one_of(st.none(), st.tuples(st.integers(100, 180).map(float),
                                               st.integers(60, 110).map(float)))),
        drafts=draw(st.lists(st.one_of(st.sampled_from(sorted(MAOIS)), st.sampled_from(DRAFTABLE)),
                             max_size=2)),
    )


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=patients())
def test_no_card_suggests_what_the_safety_rules_forbid(rules: TrdRules, spec: Spec) -> None:
    patient = PatientData.of(spec.resources())
    drafts = spec.draft_orders()
    hook = "order-sign" if drafts else "patient-view"
    findings = rules.check_orders(patient, AS_OF, drafts) if drafts else None
    assessment = rules.assess(patient, AS_OF)
    cards = build_cards(assessment, hook=hook, draft_orders=drafts, order_check=findings,
                        patient_id="p")
    assert response_problems({"cards": cards}) == []
    offered = suggested_agents(cards)
    forbidden = spec.forbidden() & set(offered)
    assert not forbidden, {drug: offered[drug] for drug in forbidden}
    # An escalation never adds or switches to what the patient takes now.
    again = {drug for drug in spec.recorded_now() if offered.get(drug, set()) & {"augment", "switch-class"}}
    assert not again, {drug: offered[drug] for drug in again}
