"""Counts over a population's assessments, gathered one line at a time: what the report shows.
Patient ids are kept only when asked for (``keep_ids``), and then only per group the report
lists."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Trial flags that make a resistance apparent (RULES.md §3), the causes the report breaks down.
PSEUDO_CAUSES = ("too-short", "low-dose", "poor-adherence", "dose-unknown", "interacting-drug")
# Groups a care manager would act on, listed by id with --include-ids.
ID_GROUPS = ("trd-met", "pseudo-resistance", "crisis", "ect", "esketamine")


@dataclass
class Summary:
    keep_ids: bool = False
    patients: int = 0
    trd_status: Counter[str] = field(default_factory=Counter)
    pseudo_resistance: int = 0
    pseudo_causes: Counter[str] = field(default_factory=Counter)
    suggestions: Counter[str] = field(default_factory=Counter)
    safety: Counter[str] = field(default_factory=Counter)
    crisis: int = 0
    thase_rush: Counter[str] = field(default_factory=Counter)
    maudsley_band: Counter[str] = field(default_factory=Counter)
    maudsley_scores: Counter[int] = field(default_factory=Counter)
    data_quality: Counter[tuple[str, str]] = field(default_factory=Counter)
    patients_with_findings: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    input_issues: Counter[tuple[str, str]] = field(default_factory=Counter)
    ids: dict[str, list[str]] = field(default_factory=lambda: {g: [] for g in ID_GROUPS})

    def add_assessment(self, patient: str, a: dict[str, Any]) -> None:
        self.patients += 1
        status = str(a.get("trdStatus") or "unknown")
        self.trd_status[status] += 1
        groups: list[str] = []
        if status == "met":
            groups.append("trd-met")
        if a.get("pseudoResistance"):
            self.pseudo_resistance += 1
            groups.append("pseudo-resistance")
            causes = {flag for t in a.get("trials") or [] if t.get("inCurrentEpisode")
                      for flag in t.get("flags") or [] if flag in PSEUDO_CAUSES}
            self.pseudo_causes.update(causes)
        suggestions = a.get("suggestions") or []
        self.suggestions.update(set(suggestions))
        groups.extend(s for s in ("ect", "esketamine") if s in suggestions)
        self.safety.update(set(a.get("safety") or []))
        if a.get("crisis"):
            self.crisis += 1
            groups.append("crisis")
        staging = a.get("staging") or {}
        stage = staging.get("thaseRush")
        self.thase_rush[str(stage) if isinstance(stage, int) else "unknown"] += 1
        self.maudsley_band[str(staging.get("maudsleyBand") or "unknown")] += 1
        score = staging.get("maudsleyScore")
        if isinstance(score, int):
            self.maudsley_scores[score] += 1
        findings = a.get("dataQuality") or []
        if findings:
            self.patients_with_findings += 1
        self.data_quality.update((str(f.get("issue")), str(f.get("effect"))) for f in findings)
        if self.keep_ids:
            for group in groups:
                self.ids[group].append(patient)

    def add_error(self, outcome: dict[str, Any]) -> None:
        issues = outcome.get("issue") or [{}]
        reason = str(issues[0].get("diagnostics") or issues[0].get("code") or "error")
        # "Bundle.entry[3].resource.birthDate must be a date": one reason whatever the entry.
        self.errors[re.sub(r"\[\d+\]", "[*]", reason)] += 1

    def add_input_issue(self, issue: dict[str, Any]) -> None:
        self.input_issues[(str(issue.get("issue")), str(issue.get("resourceType") or ""))] += 1

    def rate(self, count: int) -> str:
        return f"{100 * count / self.patients:.1f} %" if self.patients else "-"
