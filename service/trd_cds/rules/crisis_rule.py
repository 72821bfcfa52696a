"""The crisis rule (RULES.md §10) read straight from the data, for when the assessment is not
available: the rules failed, timed out, are still loading, or the data for more is missing.

It is the CQL rule (Suggestions."Crisis" with its evidence, TRDAssessment."Details"
crisisItem9 / crisisSuicidalIdeationCondition), not a second opinion: the codes are the
expansions of the same value sets (``cql/valuesets``), the thresholds the same TRDConfig
parameters with the same overrides, and each step mirrors the CQL it names.
``tests/rules/test_crisis_rule_agrees.py`` checks that both give the same answer over the
examples and the generated corpus. It needs no rule engine and costs a few dict look-ups.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from trd_cds.assessment import Details, Item9Evidence, Number
from trd_cds.fhir.patient_data import PatientData

from .locate import cql_dir

ITEM9_VALUE_SET = "phq9-item9"
SUICIDAL_IDEATION_VALUE_SET = "suicidal-ideation"
LOOKBACK_PARAMETER = "CrisisLookbackDays"
MINIMUM_SCORE_PARAMETER = "CrisisItem9MinimumScore"
# TRDCommon "Is Final", "Is Active" (codes only, whatever the system, as the CQL compares them).
FINAL_STATUSES = frozenset({"final", "amended", "corrected"})
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
NOT_VERIFIED = frozenset({"refuted", "entered-in-error"})
# TRDCommon "Answer Score": LOINC answer list LL358-3 (checked against the CQL by a test).
ANSWER_SCORES = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}

Coding = tuple[str, str]


def _expansion(folder: Path, name: str) -> frozenset[Coding]:
    body = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return frozenset((str(c["system"]), str(c["code"])) for c in body["expansion"]["contains"])


def _parameter_default(elm_folder: Path, name: str) -> int:
    library = json.loads((elm_folder / "TRDConfig.json").read_text(encoding="utf-8"))["library"]
    for parameter in library["parameters"]["def"]:
        if parameter["name"] == name:
            return int(parameter["default"]["value"])
    raise KeyError(f"TRDConfig has no parameter {name!r}")


@dataclass(frozen=True, slots=True)
class CrisisRule:
    item9_codes: frozenset[Coding]
    ideation_codes: frozenset[Coding]
    lookback_days: int
    minimum_score: int

    @classmethod
    def load(cls, parameters: Mapping[str, Any] | None = None,
             cql_path: str | Path | None = None) -> CrisisRule:
        """From the value sets and TRDConfig of ``cql/``, with the same parameter overrides
        as ``TrdRules.load`` (``{"CrisisLookbackDays": 14}``)."""
        base = Path(cql_path) if cql_path is not None else cql_dir()
        overrides = dict(parameters or {})

        def parameter(name: str) -> int:
            value = overrides.get(name)
            return int(value) if value is not None else _parameter_default(base / "elm", name)

        return cls(
            item9_codes=_expansion(base / "valuesets", ITEM9_VALUE_SET),
            ideation_codes=_expansion(base / "valuesets", SUICIDAL_IDEATION_VALUE_SET),
            lookback_days=parameter(LOOKBACK_PARAMETER),
            minimum_score=parameter(MINIMUM_SCORE_PARAMETER),
        )

    def __call__(self, patient: PatientData, as_of: date) -> Details | None:
        """The crisis evidence as the assessment's details carry it, or None: no crisis."""
        item9 = self.positive_item9(patient, as_of)
        ideation = self.suicidal_ideation(patient)
        if item9 is None and not ideation:
            return None
        return Details(crisisItem9=item9, crisisSuicidalIdeationCondition=ideation)

    # Suggestions "Recent Item 9 Scores" / "Positive Item 9"
    def positive_item9(self, patient: PatientData, as_of: date) -> Item9Evidence | None:
        # A window reaching before year 1 starts there (Date arithmetic past it is null).
        since = (as_of - timedelta(days=self.lookback_days)
                 if as_of.toordinal() > self.lookback_days else date.min)
        positive: list[tuple[date, Number]] = []
        for observation in patient.by_type.get("Observation", ()):
            if observation.get("status") not in FINAL_STATUSES:
                continue
            scores = []
            if self._is_item9(observation.get("code")):
                scores.append(_score(observation))
            components = observation.get("component")
            if isinstance(components, list):
                first = next((c for c in components
                              if isinstance(c, dict) and self._is_item9(c.get("code"))), None)
                if first is not None:
                    scores.append(_score(first))
            if not scores:
                continue
            taken = _effective_day(observation, as_of)
            if taken is None or not since <= taken <= as_of:
                continue
            positive += [(taken, s) for s in scores if s is not None and s >= self.minimum_score]
        if not positive:
            return None
        latest = max(day for day, _ in positive)
        score = max(s for day, s in positive if day == latest)
        return Item9Evidence(score=score, takenOn=latest.isoformat())

    # CurrentEpisode "Suicidal Ideation" over "Active Conditions"
    def suicidal_ideation(self, patient: PatientData) -> bool:
        for condition in patient.by_type.get("Condition", ()):
            if not _codings(condition.get("code")) & self.ideation_codes:
                continue
            clinical = {code for _, code in _codings(condition.get("clinicalStatus"))}
            verification = {code for _, code in _codings(condition.get("verificationStatus"))}
            if verification & NOT_VERIFIED:
                continue
            # No status and no abatement counts as active (CurrentEpisode says why).
            unstated = not _codings(condition.get("clinicalStatus")) and not any(
                key.startswith("abatement") for key in condition)
            if clinical & ACTIVE_CLINICAL or unstated:
                return True
        return False

    def _is_item9(self, concept: Any) -> bool:
        return bool(_codings(concept) & self.item9_codes)


def _codings(concept: Any) -> set[Coding]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return set()
    return {(str(c.get("system")), str(c.get("code")))
            for c in concept["coding"] if isinstance(c, dict)}


def _number(value: Any) -> Number | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


# TRDCommon "Observation Score" / "Component Score"
def _score(holder: Mapping[str, Any]) -> Number | None:
    if isinstance(holder.get("valueInteger"), int):
        return _number(holder["valueInteger"])
    quantity = holder.get("valueQuantity")
    if isinstance(quantity, dict) and _number(quantity.get("value")) is not None:
        return _number(quantity["value"])
    return _answer_score(_codings(holder.get("valueCodeableConcept")))


def _answer_score(codings: Iterable[Coding]) -> int | None:
    return next((ANSWER_SCORES[code] for _, code in codings if code in ANSWER_SCORES), None)


# TRDCommon "Recorded Effective Date" then "Day Read": a partial date as the last day it
# allows, never after today.
def _effective_day(observation: Mapping[str, Any], today: date) -> date | None:
    period = observation.get("effectivePeriod")
    for text in (observation.get("effectiveDateTime"),
                 period.get("start") if isinstance(period, dict) else None,
                 observation.get("effectiveInstant"),
                 observation.get("issued")):
        day = _day_read(text, today)
        if day is not None:
            return day
    return None


def _day_read(text: Any, today: date) -> date | None:
    if not isinstance(text, str) or len(text) < 4:
        return None
    try:
        year = int(text[0:4])
        if len(text) < 7:
            first, last = date(year, 1, 1), date(year, 12, 31)
        elif len(text) < 10:
            month = int(text[5:7])
            first = date(year, month, 1)
            last = date(year, month, calendar.monthrange(year, month)[1])
        else:
            return date(year, int(text[5:7]), int(text[8:10]))
    except ValueError:
        return None
    # Wholly after today, it stays there (TRDCommon "Day Read").
    return last if first > today else min(last, today)
