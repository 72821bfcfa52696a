"""The TRD rules: the CQL libraries compiled once, evaluated per patient into the assessment
of RULES.md §11 (plus ``details`` for the cards) and the safety findings of drafted orders."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from trd_cds.assessment import (
    Assessment,
    Details,
    DraftDrug,
    OrderCheck,
    OrderFinding,
    Staging,
    Trial,
    no_orders,
)
from trd_cds.engine import Engine, FhirDataProvider, ValueSetDirectory
from trd_cds.engine.temporal import DateTime
from trd_cds.fhir.patient_data import PatientData

from .convert import to_json
from .locate import cql_dir

LIBRARY = "TRDAssessment"
CONFIG_LIBRARY = "TRDConfig"
DRAFT_ORDERS = "Safety.DraftOrders"

# §11 field -> define of TRDAssessment.
_DEFINES = {
    "trdStatus": "TRD Status",
    "pseudoResistance": "Pseudo Resistance",
    "failedClasses": "Failed Classes",
    "trials": "Trials",
    "thaseRush": "Thase Rush Stage",
    "maudsleyScore": "Maudsley Score",
    "maudsleyBand": "Maudsley Band",
    "suggestions": "Suggestions",
    "safety": "Safety",
    "crisis": "Crisis",
    "details": "Details",
    "dataQuality": "Data Quality",
    "timeline": "Timeline",
}
_TRIAL_FIELDS = ("ingredient", "class", "start", "end", "maxDailyDoseMg", "daysAtAdequateDose",
                 "adequate", "flags", "outcome", "outcomeInferred", "failed", "inCurrentEpisode")
# Trial tuple elements whose §11 names differ (CQL avoids `class`, a reserved word elsewhere).
_TRIAL_RENAMES = {"drugClass": "class", "startDate": "start", "endDate": "end"}


class TrdRules:
    """Loaded once at start-up; ``assess`` and ``check_orders`` are thread-safe."""

    def __init__(self, engine: Engine, terminology: ValueSetDirectory,
                 parameters: Mapping[str, Any], ruleset_version: str) -> None:
        self._engine = engine
        self._terminology = terminology
        self._parameters = dict(parameters)
        self._version = ruleset_version

    @classmethod
    def load(cls, parameters: Mapping[str, Any] | None = None,
             cql_path: str | Path | None = None) -> TrdRules:
        """Compile the ELM of ``cql/elm`` and read ``cql/valuesets`` (see ``locate``).

        ``parameters`` override the thresholds of TRDConfig by their CQL name
        (``{"TrialGapDays": 45}``); JSON numbers are accepted for Decimal parameters.
        """
        base = Path(cql_path) if cql_path is not None else cql_dir()
        engine = Engine.from_elm_dir(base / "elm")
        terminology = ValueSetDirectory.from_directory(base / "valuesets")
        overrides = _config_parameters(engine, parameters or {})
        return cls(engine, terminology, overrides,
                   _ruleset_version(base, parameters or {}))

    @property
    def ruleset_version(self) -> str:
        return self._version

    def _evaluate(self, patient: PatientData, as_of: date,
                  extra: Mapping[str, Any] | None = None,
                  expressions: list[str] | None = None) -> dict[str, Any]:
        params = dict(self._parameters)
        if extra:
            params.update(extra)
        now = DateTime.parse(f"{as_of.isoformat()}T00:00:00.000+00:00")
        assert now is not None
        return self._engine.evaluate(
            LIBRARY,
            data=FhirDataProvider(patient.resources),
            now=now,
            terminology=self._terminology,
            parameters=params,
            expressions=expressions,
        )

    def assess(self, patient: PatientData, as_of: date) -> Assessment:
        results = self._evaluate(patient, as_of, expressions=list(_DEFINES.values()))
        values = {field: to_json(results[name]) for field, name in _DEFINES.items()}
        return Assessment(
            trdStatus=values["trdStatus"],
            pseudoResistance=bool(values["pseudoResistance"]),
            failedClasses=values["failedClasses"] or [],
            trials=[_trial(t) for t in values["trials"] or []],
            staging=Staging(
                thaseRush=values["thaseRush"],
                maudsleyScore=values["maudsleyScore"],
                maudsleyBand=values["maudsleyBand"],
            ),
            suggestions=values["suggestions"] or [],
            safety=values["safety"] or [],
            crisis=bool(values["crisis"]),
            evaluationDate=as_of.isoformat(),
            rulesetVersion=self._version,
            details=_details(values["details"], values["trials"] or [], values["timeline"]),
            # What the input reading tolerated, then what the rules could not fully use.
            dataQuality=[*patient.findings, *(values["dataQuality"] or [])],
        )

    def check_orders(self, patient: PatientData, as_of: date,
                     draft_orders: list[dict[str, Any]]) -> OrderCheck:
        """Safety findings for drafted MedicationRequests (order-select / order-sign), and
        the drug each drafted order orders (``drafts``: ``{orderId, drug}``, read from its
        codes by the CQL, so the cards never match a draft by its wording).

        Each finding has ``ruleId``, ``indicator``, ``orderId``, ``drug`` (the drafted drug),
        ``washoutDaysLeft`` and ``dailyDoseMg``; at most one of two optional parts is added:
        ``conflictsWith`` (``{drug, role, drafted}``: the other drug of a combination rule) or
        ``removesSuggestion`` (``{drug, suggestion}``: a candidate of the cached assessment
        that the drafts rule out, which the cards drop). The decisions are TRDAssessment's
        "Draft Order Findings"; this method only runs it with the drafts as a parameter, so the
        cached assessment stays free of drafts.
        """
        orders = [o for o in draft_orders if o.get("resourceType") == "MedicationRequest"]
        if not orders:
            return no_orders()
        wrapped = FhirDataProvider(orders).retrieve("MedicationRequest")
        results = self._evaluate(patient, as_of, {DRAFT_ORDERS: list(wrapped)},
                                 expressions=["Draft Order Findings", "Drafted Drugs"])
        findings = to_json(results["Draft Order Findings"]) or []
        drafts = to_json(results["Drafted Drugs"]) or []
        return OrderCheck(findings=[_finding(f) for f in findings],
                          drafts=[DraftDrug(orderId=d["orderId"], drug=d["drug"]) for d in drafts])


# Optional parts of a finding: left out when empty, so a plain finding has its six keys only.
_OPTIONAL_FINDING_KEYS = ("conflictsWith", "removesSuggestion")


# The CQL results are JSON of the shapes of trd_cds.assessment (the CQL tuples name them);
# the casts below are where that shape is asserted, tests/rules/test_contract.py checks it.
def _finding(f: Mapping[str, Any]) -> OrderFinding:
    return cast(OrderFinding, {k: v for k, v in f.items()
                               if v is not None or k not in _OPTIONAL_FINDING_KEYS})


def _trial(t: Mapping[str, Any]) -> Trial:
    renamed = {_TRIAL_RENAMES.get(k, k): v for k, v in t.items()}
    return cast(Trial, {k: renamed.get(k) for k in _TRIAL_FIELDS})


def _details(details: Mapping[str, Any] | None, trials: list[Mapping[str, Any]],
             timeline: Mapping[str, Any] | None) -> Details:
    out: dict[str, Any] = dict(details or {})
    # Per-trial facts the cards state (required duration, scores and the days they were taken,
    # coverage), in trial order.
    out["trials"] = [
        {k: t.get(k) for k in ("ingredient", "current", "requiredDays", "minAdequateMg",
                               "baselineScore", "baselineDate", "outcomeScore", "outcomeDate",
                               "pdc", "interactingDrugs")}
        for t in trials
    ]
    # The evidence the timeline page draws (dose records, augmenters, PHQ-9, procedures).
    out["timeline"] = _sorted_timeline(timeline or {})
    return cast(Details, out)


# The CQL leaves the timeline's lists unsorted (engines disagree on sorting by equal Dates);
# each list gets one total order here, so the same data always gives the same assessment.
_TIMELINE_ORDER = {
    "doseRecords": ("start", "ingredient", "resource", "end"),
    "augmenters": ("start", "agent", "end"),
    "phq9": ("takenOn", "score"),
    "procedures": ("performedOn", "kind"),
}


def _sorted_timeline(timeline: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(timeline)
    for name, keys in _TIMELINE_ORDER.items():
        # Each key holds one type (ISO dates as strings, scores as numbers); nulls go last.
        out[name] = sorted(out.get(name) or [], key=lambda item, keys=keys: tuple(
            (item.get(k) is None, "" if item.get(k) is None else item.get(k)) for k in keys))
    return out


def _config_parameters(engine: Engine, parameters: Mapping[str, Any]) -> dict[str, Any]:
    known = engine.library(CONFIG_LIBRARY).parameters
    out: dict[str, Any] = {}
    for name, value in parameters.items():
        if name not in known:
            raise KeyError(f"unknown TRD parameter {name!r}; known: {', '.join(sorted(known))}")
        if isinstance(value, float):
            value = Decimal(str(value))
        out[f"{CONFIG_LIBRARY}.{name}"] = value
    return out


def _ruleset_version(base: Path, parameters: Mapping[str, Any]) -> str:
    """A short hash of everything that decides an assessment: ELM, value sets, overrides."""
    digest = hashlib.sha256()
    for folder in ("elm", "valuesets"):
        for path in sorted((base / folder).glob("*.json")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    digest.update(json.dumps(dict(parameters), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]


def ruleset_version(parameters: Mapping[str, Any] | None = None,
                    cql_path: str | Path | None = None) -> str:
    """The version ``TrdRules.load`` would report, without compiling the rules."""
    base = Path(cql_path) if cql_path is not None else cql_dir()
    return _ruleset_version(base, parameters or {})
