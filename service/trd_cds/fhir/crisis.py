"""The crisis signal computed straight from the data in hand, needing no rule engine.

RULES.md §10: a PHQ-9 item 9 answer ≥ 1 in the last 30 days, or an active suicidal-ideation
Condition. This is the fallback the service answers with when the assessment pipeline fails
or times out, so it must stay a few dict look-ups.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from .patient_data import PatientData

LOINC = "http://loinc.org"
PHQ9_ITEM9 = "44260-8"
WINDOW_DAYS = 30
FINAL_STATUSES = frozenset({"final", "amended", "corrected"})
# LOINC answer list LL358-3 (PHQ-9 item answers) → score.
ANSWER_SCORES = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
SUICIDAL_IDEATION = frozenset(
    {
        ("http://hl7.org/fhir/sid/icd-10-cm", "R45.851"),
        # SNOMED CT 6471006 |Suicidal thoughts|: EHRs code problem lists in SNOMED as often.
        ("http://snomed.info/sct", "6471006"),
    }
)
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
NOT_VERIFIED = frozenset({"refuted", "entered-in-error"})


def _codes(concept: Any) -> set[tuple[str, str]]:
    if not isinstance(concept, dict):
        return set()
    codings = concept.get("coding")
    if not isinstance(codings, list):
        return set()
    return {(str(c.get("system")), str(c.get("code"))) for c in codings if isinstance(c, dict)}


def _latest_day(text: Any) -> date | None:
    """The last calendar day a (possibly partial) FHIR date/dateTime can mean.

    A partial date leans towards the window: for a safety signal, "May 2025" counts as
    possibly recent.
    """
    if not isinstance(text, str) or len(text) < 4:
        return None
    try:
        year = int(text[0:4])
        if len(text) < 7:
            return date(year, 12, 31)
        month = int(text[5:7])
        if len(text) < 10:
            return date(year, month, calendar.monthrange(year, month)[1])
        return date(year, month, int(text[8:10]))
    except ValueError:
        return None


def _observation_day(observation: dict[str, Any]) -> date | None:
    period = observation.get("effectivePeriod")
    candidates = (
        observation.get("effectiveDateTime"),
        observation.get("effectiveInstant"),
        period.get("end") or period.get("start") if isinstance(period, dict) else None,
        observation.get("issued"),
    )
    for candidate in candidates:
        day = _latest_day(candidate)
        if day is not None:
            return day
    return None


def _score(holder: dict[str, Any]) -> float | None:
    if isinstance(holder.get("valueInteger"), int) and not isinstance(holder["valueInteger"], bool):
        return float(holder["valueInteger"])
    quantity = holder.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        return float(quantity["value"])
    for system, code in _codes(holder.get("valueCodeableConcept")):
        if system == LOINC and code in ANSWER_SCORES:
            return float(ANSWER_SCORES[code])
    return None


def item9_scores(observation: dict[str, Any]) -> list[float]:
    """Item 9 answers in an Observation: its own value, or a panel component's."""
    scores: list[float] = []
    if (LOINC, PHQ9_ITEM9) in _codes(observation.get("code")):
        score = _score(observation)
        if score is not None:
            scores.append(score)
    components = observation.get("component")
    if isinstance(components, list):
        for component in components:
            if isinstance(component, dict) and (LOINC, PHQ9_ITEM9) in _codes(component.get("code")):
                score = _score(component)
                if score is not None:
                    scores.append(score)
    return scores


def _days_before(day: date, days: int) -> date:
    """`days` before `day`, clipped to the first day of the calendar (a window reaching
    before year 1 simply starts there)."""
    return day - timedelta(days=days) if day.toordinal() > days else date.min


def recent_item9(patient: PatientData, as_of: date) -> tuple[float, date] | None:
    """The highest item 9 answer ≥ 1 of the last 30 days, with its date (latest on ties)."""
    since = _days_before(as_of, WINDOW_DAYS)
    best: tuple[float, date] | None = None
    for observation in patient.by_type.get("Observation", ()):
        if observation.get("status") not in FINAL_STATUSES:
            continue
        scores = item9_scores(observation)
        if not scores or max(scores) < 1:
            continue
        day = _observation_day(observation)
        if day is not None and since <= day <= as_of:
            found = (max(scores), day)
            if best is None or found > best:
                best = found
    return best


def recent_item9_positive(patient: PatientData, as_of: date) -> bool:
    return recent_item9(patient, as_of) is not None


def _status_code(concept: Any) -> str | None:
    codes = _codes(concept)
    return next(iter(code for _, code in codes), None) if codes else None


def active_suicidal_ideation(patient: PatientData) -> bool:
    for condition in patient.by_type.get("Condition", ()):
        if not _codes(condition.get("code")) & SUICIDAL_IDEATION:
            continue
        clinical = _status_code(condition.get("clinicalStatus"))
        verification = _status_code(condition.get("verificationStatus"))
        # No clinicalStatus with no abatement reads as active (a problem-list entry).
        if (
            clinical is None
            and "abatementDateTime" not in condition
            and "abatementPeriod" not in condition
        ):
            clinical = "active"
        if clinical in ACTIVE_CLINICAL and verification not in NOT_VERIFIED:
            return True
    return False


def crisis_evidence(patient: PatientData, as_of: date) -> dict[str, Any] | None:
    """What the crisis card can cite: `{item9Score, item9Date}` or `{suicidalIdeation: true}`."""
    item9 = recent_item9(patient, as_of)
    if item9 is not None:
        score, day = item9
        return {
            "item9Score": int(score) if score.is_integer() else score,
            "item9Date": day.isoformat(),
        }
    if active_suicidal_ideation(patient):
        return {"suicidalIdeation": True}
    return None


def crisis_signal(patient: PatientData, as_of: date) -> bool:
    """True when RULES.md §10 calls for the crisis card."""
    return recent_item9_positive(patient, as_of) or active_suicidal_ideation(patient)
