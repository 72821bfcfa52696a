"""The contract between the layers: what the rules answer, what the cards and every other
reader of an assessment may rely on.

The rules (``rules/runner.py``) build these from the CQL results of TRDAssessment; the
degraded path (``api/evaluation.py``) builds a partial one from the crisis rule alone; the
cards, the CLI and the population screen read them. Keys are the JSON names of RULES.md §11
(``class`` is a Python keyword, hence the functional TypedDict form for trials). This module
imports nothing from the service, so every layer may import it.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

Number = int | float
Indicator = Literal["info", "warning", "critical"]


class Finding(TypedDict):
    """A data-quality finding: what was wrong with the data, and what the service did."""

    resource: str  # "Type/id" (the resource's id only); "Type" alone when it has no id
    path: str  # FHIRPath-like, from the resource type: "MedicationStatement.dosage[0].doseAndRate"
    issue: str  # a code: what is wrong
    effect: str  # a code: what the service did about it


Trial = TypedDict(
    "Trial",
    {
        "ingredient": str,
        "class": str,
        "start": str | None,
        "end": str | None,
        "maxDailyDoseMg": Number | None,
        "daysAtAdequateDose": int | None,
        "adequate": bool | None,
        "flags": list[str],
        "outcome": str | None,
        "outcomeInferred": bool | None,
        "failed": bool | None,
        "inCurrentEpisode": bool | None,
    },
)


class Staging(TypedDict):
    thaseRush: int | None
    maudsleyScore: int | None
    maudsleyBand: str | None


class Item9Evidence(TypedDict):
    """The latest positive PHQ-9 item 9 answer the crisis rule saw."""

    score: Number
    takenOn: str


class AgeRange(TypedDict):
    youngest: int | None
    oldest: int | None


class DoseTarget(TypedDict):
    ingredient: str
    currentDailyDoseMg: Number | None
    targetDailyDoseMg: Number | None
    usualMaxDailyDoseMg: Number | None
    renalAdvice: str | None


class Reassessment(TypedDict):
    ingredient: str
    daysAtAdequateDose: int | None
    requiredDays: int | None
    reassessOn: str | None


class AugmentationAgent(TypedDict):
    agent: str
    rxcui: str | None
    startDose: Number
    doseLow: Number | None
    doseHigh: Number | None
    unit: str


class SwitchCandidate(TypedDict):
    rank: int
    drugClass: str
    ingredient: str
    rxcui: str | None
    minAdequateMg: Number | None
    usualMaxMg: Number | None
    overdoseWarning: bool  # a TCA or MAOI offered to a patient with suicidality
    renalAdvice: str | None  # the label's advice with severe renal impairment


class RemovedCandidate(TypedDict):
    drug: str
    rules: list[str]
    suggestion: str  # the suggestion the drug was a candidate of


class TriedAgent(TypedDict):
    """An agent not offered again, and why: taking-now, failed, not-tolerated, tried-in-episode."""

    drug: str
    reason: str
    candidateOf: list[str]  # the suggestions it would be a candidate of (augment, switch-class)


class HeldBack(TypedDict):
    """An escalation that applies but waits (on adherence, for now)."""

    suggestion: str
    reason: str


class RenalDosing(TypedDict):
    drug: str
    advice: str


class CurrentDrugAlert(TypedDict):
    ruleId: str
    indicator: Indicator
    drugs: list[str]
    partners: list[str]
    doseMg: Number | None


class TrialDetail(TypedDict):
    """Per-trial facts the cards state, in the order of ``Assessment.trials``."""

    ingredient: str
    current: bool | None
    requiredDays: int | None
    minAdequateMg: Number | None
    baselineScore: Number | None
    baselineDate: str | None  # the day of the baseline score the rules used
    outcomeScore: Number | None
    outcomeDate: str | None  # the day of the outcome score the rules used
    pdc: Number | None
    interactingDrugs: list[str]


class DoseRecord(TypedDict):
    """One antidepressant record the trials are made of, with its daily dose."""

    resource: str  # "Type/id", as data-quality findings name it
    ingredient: str
    start: str
    end: str
    dailyDoseMg: Number | None
    notTaken: bool


class AugmenterCourse(TypedDict):
    agent: str
    start: str
    end: str


class Phq9Score(TypedDict):
    takenOn: str
    score: Number


class ProcedureSession(TypedDict):
    kind: Literal["ect", "psychotherapy"]
    performedOn: str


class Timeline(TypedDict):
    """The evidence behind the trials, for the timeline page (TRDAssessment."Timeline")."""

    doseRecords: list[DoseRecord]
    augmenters: list[AugmenterCourse]
    phq9: list[Phq9Score]
    procedures: list[ProcedureSession]
    remissionBelowScore: Number
    responseMinimumDrop: Number
    partialResponseMinimumDrop: Number


class Details(TypedDict, total=False):
    """What the cards word (TRDAssessment."Details"). A complete assessment has every key;
    the degraded one only the crisis evidence, hence ``total=False``."""

    episodeStart: str | None
    episodeStartFromDiagnosis: bool
    age: int | None
    deceased: bool
    deathDate: str | None
    ageRange: AgeRange | None
    psychoticFeatures: bool
    substanceUseDisorder: bool
    hypothyroidism: bool
    currentTrialIngredient: str | None
    doseTarget: DoseTarget | None
    reassessment: Reassessment | None
    augmentationAgents: list[AugmentationAgent] | None
    switchCandidates: list[SwitchCandidate] | None
    removedCandidates: list[RemovedCandidate]
    triedAgents: list[TriedAgent]
    currentAugmenters: list[str]
    heldBack: list[HeldBack]
    overdoseWarning: bool
    ectFirst: bool
    maoiWashoutDaysLeft: int | None
    latestEGFR: Number | None
    renalDosing: list[RenalDosing]
    currentDrugAlerts: list[CurrentDrugAlert]
    seizureDisorder: bool
    eatingDisorder: bool
    crisisItem9: Item9Evidence | None
    crisisSuicidalIdeationCondition: bool
    trials: list[TrialDetail]
    timeline: Timeline


class Assessment(TypedDict):
    """RULES.md §11, plus ``details`` for the cards and ``dataQuality``; this is what the
    cache holds. ``complete`` and ``unavailableReason`` appear only on a degraded one."""

    trdStatus: str | None
    pseudoResistance: bool
    failedClasses: list[str]
    trials: list[Trial]
    staging: Staging | None
    suggestions: list[str]
    safety: list[str]
    crisis: bool
    evaluationDate: str
    rulesetVersion: str | None
    details: Details
    dataQuality: list[Finding]
    complete: NotRequired[bool]
    unavailableReason: NotRequired[str]


class Conflict(TypedDict):
    drug: str  # the other drug of a combination rule
    role: str  # which side of the rule the other drug is on
    drafted: bool  # drafted in the same call, or taken now


class Removal(TypedDict):
    drug: str  # a candidate of the cached assessment ...
    suggestion: str  # ... of this suggestion, that the drafts rule out


class OrderFinding(TypedDict):
    """A safety finding of a drafted order (TRDAssessment."Draft Order Findings")."""

    ruleId: str
    indicator: Indicator
    orderId: str | None
    drug: str
    washoutDaysLeft: int | None
    dailyDoseMg: Number | None
    conflictsWith: NotRequired[Conflict]
    removesSuggestion: NotRequired[Removal]


class DraftDrug(TypedDict):
    """What a drafted MedicationRequest orders, as the CQL reads it (by code, never by name)."""

    orderId: str | None
    drug: str


class OrderCheck(TypedDict):
    """The rules' answer about the drafted orders of an order-select / order-sign call."""

    findings: list[OrderFinding]
    drafts: list[DraftDrug]


def no_orders() -> OrderCheck:
    """The order check of a call without drafted medication orders."""
    return OrderCheck(findings=[], drafts=[])
