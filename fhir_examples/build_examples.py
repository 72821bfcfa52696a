#!/usr/bin/env python3
"""Write the example FHIR R4 Bundles, their expected assessments and CDS Hooks requests.

Each example is a small clinical story; its expectation (``EXPECT``) is worked out by hand
from RULES.md and written next to the data, with the arithmetic in comments. The bundles and
``expected/*.assessment.json`` are committed; rerun after editing:
    python fhir_examples/build_examples.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
AS_OF = "2025-06-01"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INGREDIENT = {  # RxNorm ingredient codes (antidepressants.csv, augmentation_agents.csv)
    "sertraline": "36437", "escitalopram": "321988", "citalopram": "2556", "fluoxetine": "4493",
    "venlafaxine": "39786", "duloxetine": "72625", "nortriptyline": "7531", "imipramine": "5691",
    "phenelzine": "8123", "mirtazapine": "15996", "bupropion": "42347", "aripiprazole": "89013",
}


class Story:
    def __init__(self, name: str, birth: str, gender: str = "female") -> None:
        self.name = name
        self.pid = name
        self.entries: list[dict[str, Any]] = [{
            "resourceType": "Patient", "id": self.pid, "birthDate": birth, "gender": gender,
            "name": [{"family": "Example", "given": [name.replace("-", " ").title()]}],
        }]
        self.n = 0

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    def add(self, resource: dict[str, Any]) -> Story:
        self.entries.append(resource)
        return self

    def condition(self, code: str, display: str, onset: str, system: str = ICD10,
                  clinical: str = "active", verification: str = "confirmed") -> Story:
        return self.add({
            "resourceType": "Condition", "id": self._id("cond"),
            "clinicalStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]},
            "verificationStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]},
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                "code": "problem-list-item"}]}],
            "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
            "subject": {"reference": f"Patient/{self.pid}"},
            "onsetDateTime": onset, "recordedDate": onset,
        })

    def statement(self, drug: str, start: str, end: str | None, mg: float | None = None, *,
                  status: str | None = None, code: str | None = None, display: str | None = None,
                  tablets: float | None = None, per_day: int = 1, reason: dict[str, Any] | None = None,
                  text_only: bool = False) -> Story:
        med: dict[str, Any] = {"text": display or drug}
        if not text_only:
            med["coding"] = [{"system": RXNORM, "code": code or INGREDIENT[drug], "display": display or drug}]
        dosage: list[dict[str, Any]] = []
        if mg is not None or tablets is not None:
            dose = ({"value": mg, "unit": "mg", "system": UCUM, "code": "mg"} if mg is not None
                    else {"value": tablets, "unit": "tablet", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"})
            dosage = [{"text": f"{mg or tablets} {'mg' if mg is not None else 'tablet(s)'} {per_day} times a day",
                       "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
                       "doseAndRate": [{"doseQuantity": dose}]}]
        period: dict[str, str] = {"start": start}
        if end:
            period["end"] = end
        res: dict[str, Any] = {
            "resourceType": "MedicationStatement", "id": self._id("ms"),
            "status": status or ("active" if end is None else "completed"),
            "medicationCodeableConcept": med,
            "subject": {"reference": f"Patient/{self.pid}"},
            "effectivePeriod": period, "dateAsserted": end or AS_OF,
        }
        if dosage:
            res["dosage"] = dosage
        if reason:
            res["statusReason"] = [reason]
        return self.add(res)

    def phq9(self, when: str, score: int) -> Story:
        return self.add({
            "resourceType": "Observation", "id": self._id("phq9"), "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
            "code": {"coding": [{"system": LOINC, "code": "44261-6",
                                 "display": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"}]},
            "subject": {"reference": f"Patient/{self.pid}"},
            "effectiveDateTime": when, "valueInteger": score,
        })

    def item9(self, when: str, score: int) -> Story:
        answers = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
        labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
        return self.add({
            "resourceType": "Observation", "id": self._id("phq9i9"), "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "44260-8",
                                 "display": "Thoughts that you would be better off dead or of hurting yourself in some way"}]},
            "subject": {"reference": f"Patient/{self.pid}"},
            "effectiveDateTime": when,
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": answers[score], "display": labels[score]}]},
        })

    def procedure(self, system: str, code: str, display: str, when: str) -> Story:
        return self.add({
            "resourceType": "Procedure", "id": self._id("proc"), "status": "completed",
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "subject": {"reference": f"Patient/{self.pid}"}, "performedDateTime": when,
        })

    def dispense(self, drug: str, when: str, days: int) -> Story:
        return self.add({
            "resourceType": "MedicationDispense", "id": self._id("md"), "status": "completed",
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": INGREDIENT[drug], "display": drug}]},
            "subject": {"reference": f"Patient/{self.pid}"},
            "whenHandedOver": when, "daysSupply": {"value": days, "unit": "day", "system": UCUM, "code": "d"},
        })

    def bundle(self) -> dict[str, Any]:
        return {
            "resourceType": "Bundle", "id": self.name, "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{self.name}-{r['resourceType'].lower()}-{r['id']}", "resource": r}
                      for r in self.entries],
        }


MDD = ("F33.1", "Major depressive disorder, recurrent, moderate")
MDD_SINGLE = ("F32.2", "Major depressive disorder, single episode, severe without psychotic features")
ADVERSE = {"coding": [{"system": SNOMED, "code": "281647001", "display": "Adverse reaction"}], "text": "nausea and agitation"}


def trial(ingredient: str, cls: str, start: str, end: str, max_mg: float | None, days_adequate: int,
          adequate: bool, flags: list[str], outcome: str, inferred: bool, failed: bool,
          episode: bool = True) -> dict[str, Any]:
    return {"ingredient": ingredient, "class": cls, "start": start, "end": end,
            "maxDailyDoseMg": max_mg, "daysAtAdequateDose": days_adequate, "adequate": adequate,
            "flags": flags, "outcome": outcome, "outcomeInferred": inferred, "failed": failed,
            "inCurrentEpisode": episode}


def expect(status: str, failed: list[str], trials: list[dict[str, Any]], suggestions: list[str],
           safety: list[str], *, pseudo: bool = False, thase: int = 0, maudsley: int | None = None,
           band: str | None = None, crisis: bool = False) -> dict[str, Any]:
    return {"trdStatus": status, "pseudoResistance": pseudo, "failedClasses": failed, "trials": trials,
            "staging": {"thaseRush": thase, "maudsleyScore": maudsley, "maudsleyBand": band},
            "suggestions": suggestions, "safety": safety, "crisis": crisis, "evaluationDate": AS_OF}


def examples() -> dict[str, tuple[Story, dict[str, Any]]]:
    ex: dict[str, tuple[Story, dict[str, Any]]] = {}

    # Classic TRD: sertraline (SSRI) 20->18, venlafaxine (SNRI) 18->17, escitalopram (SSRI)
    # 17->15: every drop < 25 %, all adequate -> failed SSRI + SNRI -> met. Maudsley: 12 months
    # (1) + baseline 20 (4) + 3 failed drugs (2) = 7 moderate.
    s = Story("classic-trd", "1980-03-15").condition(*MDD, "2024-06-01")
    s.statement("sertraline", "2024-06-01", "2024-08-31", 100).phq9("2024-05-25", 20).phq9("2024-08-25", 18)
    s.statement("venlafaxine", "2024-09-10", "2024-12-31", 150).phq9("2024-12-20", 16).phq9("2025-01-03", 17)
    s.statement("escitalopram", "2025-01-05", None, 20).phq9("2025-05-20", 15)
    ex[s.name] = (s, expect("met", ["SNRI", "SSRI"], [
        trial("sertraline", "SSRI", "2024-06-01", "2024-08-31", 100, 92, True, [], "non-response", False, True),
        trial("venlafaxine", "SNRI", "2024-09-10", "2024-12-31", 150, 113, True, [], "non-response", False, True),
        trial("escitalopram", "SSRI", "2025-01-05", AS_OF, 20, 148, True, [], "non-response", False, True),
    ], ["augment", "switch-class", "psychotherapy", "ect", "esketamine"], ["lithium-monitoring"],
        thase=2, maudsley=7, band="moderate"))

    # Two SSRIs failed: one class -> not-met (distinct drugs would say met). 9 months (1) +
    # baseline 16 (3) + 2 failed (1) = 5 mild.
    s = Story("two-failures-one-class", "1985-01-10").condition("F32.1", "Major depressive disorder, single episode, moderate", "2024-09-01")
    s.statement("sertraline", "2024-09-01", "2024-11-30", 150).phq9("2024-08-28", 16).phq9("2024-11-25", 15)
    s.statement("escitalopram", "2024-12-05", None, 20).phq9("2025-05-28", 14)
    ex[s.name] = (s, expect("not-met", ["SSRI"], [
        trial("sertraline", "SSRI", "2024-09-01", "2024-11-30", 150, 91, True, [], "non-response", False, True),
        trial("escitalopram", "SSRI", "2024-12-05", AS_OF, 20, 179, True, [], "non-response", False, True),
    ], ["switch-class", "psychotherapy"], [], thase=1, maudsley=5, band="mild"))

    # Pseudo-resistance: sertraline 35 days (too-short; 19->19 non-response), venlafaxine 75 mg
    # (low-dose; 19->18). Both would fail in two classes -> pseudo-resistance; raise the dose.
    s = Story("pseudo-short-and-low-dose", "1978-07-04").condition(*MDD, "2024-10-01")
    s.statement("sertraline", "2024-10-01", "2024-11-04", 100).phq9("2024-09-28", 19).phq9("2024-11-18", 19)
    s.statement("venlafaxine", "2024-11-20", None, 75).phq9("2025-05-25", 18)
    ex[s.name] = (s, expect("not-met", [], [
        trial("sertraline", "SSRI", "2024-10-01", "2024-11-04", 100, 35, False, ["too-short"], "non-response", False, False),
        trial("venlafaxine", "SNRI", "2024-11-20", AS_OF, 75, 0, False, ["low-dose"], "non-response", False, False),
    ], ["optimize-dose"], [], pseudo=True))

    # Poor adherence: a not-taken fluoxetine statement; duloxetine dispenses cover 60 of 164
    # days (PDC 0.37). Both non-response -> pseudo-resistance. Duloxetine has 164 days at dose
    # with measured non-response, but it was not taken as prescribed: adherence first, the
    # switch is held back.
    s = Story("pseudo-poor-adherence", "1990-02-02").condition(*MDD, "2024-09-01")
    s.statement("fluoxetine", "2024-09-10", "2024-10-31", 20).statement("fluoxetine", "2024-11-01", "2024-12-15", 20, status="not-taken")
    s.phq9("2024-09-05", 17).phq9("2024-12-10", 16)
    s.statement("duloxetine", "2024-12-20", None, 60).dispense("duloxetine", "2024-12-20", 30).dispense("duloxetine", "2025-03-01", 30)
    s.phq9("2025-05-20", 15)
    ex[s.name] = (s, expect("not-met", [], [
        trial("fluoxetine", "SSRI", "2024-09-10", "2024-12-15", 20, 97, False, ["poor-adherence"], "non-response", False, False),
        trial("duloxetine", "SNRI", "2024-12-20", AS_OF, 60, 164, False, ["poor-adherence"], "non-response", False, False),
    ], ["address-adherence"], [], pseudo=True))

    # Intolerance: sertraline stopped after 14 days for an adverse reaction (inferred
    # intolerance, not a failure); escitalopram 19->8 (58 %) response.
    s = Story("intolerance", "1992-05-05").condition("F32.1", "Major depressive disorder, single episode, moderate", "2025-01-10")
    s.statement("sertraline", "2025-01-15", "2025-01-28", 50, status="stopped", reason=ADVERSE).phq9("2025-01-12", 19)
    s.statement("escitalopram", "2025-02-05", None, 10).phq9("2025-05-20", 8)
    ex[s.name] = (s, expect("not-met", [], [
        trial("sertraline", "SSRI", "2025-01-15", "2025-01-28", 50, 14, False, ["too-short"], "intolerance", True, False),
        trial("escitalopram", "SSRI", "2025-02-05", AS_OF, 10, 117, True, [], "response", False, False),
    ], [], []))

    # Bipolar disorder: unipolar TRD logic excluded; only review-diagnosis. 8 months (1) +
    # baseline 18 (3) + 1 failed (1) = 5.
    s = Story("bipolar-excluded", "1975-11-20").condition("F31.31", "Bipolar disorder, current episode depressed, mild", "2024-10-01").condition(*MDD, "2024-10-01")
    s.statement("sertraline", "2024-10-05", "2025-01-31", 100).phq9("2024-10-01", 18).phq9("2025-01-20", 17)
    ex[s.name] = (s, expect("excluded", ["SSRI"], [
        trial("sertraline", "SSRI", "2024-10-05", "2025-01-31", 100, 119, True, [], "non-response", False, True),
    ], ["review-diagnosis"], ["bipolar-exclusion"], thase=1, maudsley=5, band="mild"))

    # No MDD diagnosis (generalised anxiety only): trials reported, no suggestion.
    s = Story("no-mdd-diagnosis", "1988-08-08").condition("F41.1", "Generalized anxiety disorder", "2024-12-01")
    s.statement("sertraline", "2025-01-01", None, 100)
    ex[s.name] = (s, expect("no-mdd-diagnosis", [], [
        trial("sertraline", "SSRI", "2025-01-01", AS_OF, 100, 152, True, [], "unknown", False, False),
    ], [], []))

    # Older adult: 70 at trial start, 50 days at dose < 56 -> too-short; reassess on 7 June.
    s = Story("older-adult-56-days", "1955-03-01", "male").condition(*MDD, "2025-03-01")
    s.statement("sertraline", "2025-04-13", None, 100).phq9("2025-04-10", 17)
    ex[s.name] = (s, expect("not-met", [], [
        trial("sertraline", "SSRI", "2025-04-13", AS_OF, 100, 50, False, ["too-short"], "unknown", False, False),
    ], ["extend-trial"], ["older-adult"]))

    # 41 / 42 / 43 days of sertraline 50 mg after a failed venlafaxine trial.
    for days, end in ((41, "2024-12-11"), (42, "2024-12-12"), (43, "2024-12-13")):
        s = Story(f"boundary-{days}-days", "1983-04-04").condition(*MDD, "2024-06-01")
        s.statement("venlafaxine", "2024-06-01", "2024-09-30", 150).phq9("2024-06-01", 20).phq9("2024-09-25", 19)
        s.statement("sertraline", "2024-11-01", end, 50).phq9("2024-10-30", 19).phq9("2024-12-10", 18)
        ok = days >= 42
        trials = [
            trial("venlafaxine", "SNRI", "2024-06-01", "2024-09-30", 150, 122, True, [], "non-response", False, True),
            trial("sertraline", "SSRI", "2024-11-01", end, 50, days, ok, [] if ok else ["too-short"], "non-response", False, ok),
        ]
        # Maudsley: 12 months (1) + baseline 20 (4) + 1-2 failed (1) = 6 mild.
        ex[s.name] = (s, expect("met", ["SNRI", "SSRI"], trials,
                                ["augment", "switch-class", "psychotherapy", "ect", "esketamine"],
                                ["lithium-monitoring"], thase=2, maudsley=6, band="mild") if ok else
                      expect("not-met", ["SNRI"], trials, ["psychotherapy"], [], pseudo=True,
                             thase=1, maudsley=6, band="mild"))

    # Remission on escitalopram 18->4.
    s = Story("remission", "1995-09-09").condition("F32.1", "Major depressive disorder, single episode, moderate", "2025-01-01")
    s.statement("escitalopram", "2025-01-20", None, 10).phq9("2025-01-18", 18).phq9("2025-05-15", 4)
    ex[s.name] = (s, expect("not-met", [], [
        trial("escitalopram", "SSRI", "2025-01-20", AS_OF, 10, 133, True, [], "remission", False, False),
    ], [], []))

    # Partial response 20->13 (35 %) on an adequate current trial: augment (bupropion allowed
    # on an SSRI), switch, psychotherapy. 5 months (1) + 20 (4) + 1 failed (1) = 6.
    s = Story("partial-response-augment", "1970-12-12").condition(*MDD, "2025-01-01")
    s.statement("sertraline", "2025-01-10", None, 150).phq9("2025-01-08", 20).phq9("2025-05-25", 13)
    ex[s.name] = (s, expect("not-met", ["SSRI"], [
        trial("sertraline", "SSRI", "2025-01-10", AS_OF, 150, 143, True, [], "partial-response", False, True),
    ], ["augment", "switch-class", "psychotherapy"], ["lithium-monitoring"], thase=1, maudsley=6, band="mild"))

    # No PHQ-9 at all: switches within 30 days infer non-response for citalopram and
    # venlafaxine. Maudsley has no severity -> null.
    s = Story("outcome-inferred-from-switches", "1982-06-30").condition(*MDD, "2024-08-15")
    s.statement("citalopram", "2024-09-01", "2024-11-30", 20)
    s.statement("venlafaxine", "2024-12-10", "2025-03-15", 150)
    s.statement("mirtazapine", "2025-03-20", None, 30)
    ex[s.name] = (s, expect("met", ["SNRI", "SSRI"], [
        trial("citalopram", "SSRI", "2024-09-01", "2024-11-30", 20, 91, True, [], "non-response", True, True),
        trial("venlafaxine", "SNRI", "2024-12-10", "2025-03-15", 150, 96, True, [], "non-response", True, True),
        trial("mirtazapine", "NaSSA", "2025-03-20", AS_OF, 30, 74, True, [], "unknown", False, False),
    ], ["augment", "psychotherapy", "ect", "esketamine"], ["lithium-monitoring"], thase=2))

    # Product codes: a sertraline order (SCD 50 mg tablet, 1 tablet twice a day, 30 days x 3
    # fills = 1 Oct - 29 Dec, 100 mg/day) and venlafaxine 37.5 mg tablets, 2 three times a day
    # (225 mg/day). 8 months (1) + 19 (3) + 2 failed (1) = 5.
    s = Story("product-codes-and-tid", "1987-02-14").condition("F33.2", "Major depressive disorder, recurrent severe without psychotic features", "2024-09-15")
    s.add({
        "resourceType": "MedicationRequest", "id": "mr-sertraline", "status": "completed", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "312941", "display": "sertraline 50 MG Oral Tablet"}]},
        "subject": {"reference": "Patient/product-codes-and-tid"}, "authoredOn": "2024-10-01",
        "dosageInstruction": [{"text": "1 tablet twice a day",
                               "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                               "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"}}]}],
        "dispenseRequest": {"numberOfRepeatsAllowed": 2,
                            "expectedSupplyDuration": {"value": 30, "unit": "days", "system": UCUM, "code": "d"}},
    })
    s.phq9("2024-09-28", 19).phq9("2024-12-20", 17)
    s.statement("venlafaxine", "2025-01-05", None, code="313584", display="venlafaxine 37.5 MG Oral Tablet", tablets=2, per_day=3)
    s.phq9("2025-05-25", 16)
    ex[s.name] = (s, expect("met", ["SNRI", "SSRI"], [
        trial("sertraline", "SSRI", "2024-10-01", "2024-12-29", 100, 90, True, [], "non-response", False, True),
        trial("venlafaxine", "SNRI", "2025-01-05", AS_OF, 225, 148, True, [], "non-response", False, True),
    ], ["augment", "switch-class", "psychotherapy", "ect", "esketamine"], ["lithium-monitoring"],
        thase=2, maudsley=5, band="mild"))

    # Trials of a previous episode are history: only escitalopram counts.
    s = Story("trials-before-episode", "1979-10-10").condition(*MDD, "2025-01-15")
    s.statement("sertraline", "2023-01-01", "2023-04-30", 100).phq9("2022-12-28", 18).phq9("2023-04-20", 17)
    s.statement("venlafaxine", "2023-05-10", "2023-09-30", 150).phq9("2023-09-20", 16)
    s.statement("escitalopram", "2025-02-01", None, 20).phq9("2025-01-30", 18).phq9("2025-05-25", 16)
    ex[s.name] = (s, expect("not-met", ["SSRI"], [
        trial("sertraline", "SSRI", "2023-01-01", "2023-04-30", 100, 120, True, [], "non-response", False, True, episode=False),
        trial("venlafaxine", "SNRI", "2023-05-10", "2023-09-30", 150, 144, True, [], "non-response", False, True, episode=False),
        trial("escitalopram", "SSRI", "2025-02-01", AS_OF, 20, 121, True, [], "non-response", False, True),
    ], ["switch-class", "psychotherapy"], [], thase=1, maudsley=5, band="mild"))

    # Entered-in-error: the venlafaxine statement and a bipolar Condition are ignored.
    s = Story("entered-in-error", "1981-01-21").condition(*MDD, "2024-06-01")
    s.condition("F31.9", "Bipolar disorder, unspecified", "2024-06-01", verification="entered-in-error")
    s.statement("sertraline", "2024-06-01", "2024-08-31", 100).phq9("2024-05-25", 20).phq9("2024-08-25", 18)
    s.statement("venlafaxine", "2024-09-10", "2024-12-31", 150, status="entered-in-error")
    s.statement("escitalopram", "2025-01-05", None, 20).phq9("2025-01-03", 17).phq9("2025-05-20", 15)
    ex[s.name] = (s, expect("not-met", ["SSRI"], [
        trial("sertraline", "SSRI", "2024-06-01", "2024-08-31", 100, 92, True, [], "non-response", False, True),
        trial("escitalopram", "SSRI", "2025-01-05", AS_OF, 20, 148, True, [], "non-response", False, True),
    ], ["switch-class", "psychotherapy"], [], thase=1, maudsley=6, band="mild"))

    # Crisis: PHQ-9 item 9 = 2 a week ago. Young adult (22). 3 months (1) + 21 (4) + 1 (1) = 6.
    s = Story("crisis-recent-item9", "2003-04-01").condition(*MDD_SINGLE, "2025-03-01")
    s.statement("sertraline", "2025-03-05", None, 50).phq9("2025-03-01", 21).phq9("2025-05-25", 19).item9("2025-05-25", 2)
    ex[s.name] = (s, expect("not-met", ["SSRI"], [
        trial("sertraline", "SSRI", "2025-03-05", AS_OF, 50, 89, True, [], "non-response", False, True),
    ], ["switch-class", "psychotherapy"], ["overdose-lethality", "young-adult"], thase=1, maudsley=6, band="mild", crisis=True))

    # Item 9 positive three months ago only: no crisis. Partial response 15->9 (40 %).
    s = Story("crisis-old-item9", "1990-10-01").condition(*MDD, "2025-01-01")
    s.statement("escitalopram", "2025-01-10", None, 10).phq9("2025-01-05", 15).phq9("2025-05-10", 9)
    s.item9("2025-03-01", 1).item9("2025-05-10", 0)
    ex[s.name] = (s, expect("not-met", ["SSRI"], [
        trial("escitalopram", "SSRI", "2025-01-10", AS_OF, 10, 143, True, [], "partial-response", False, True),
    ], ["augment", "switch-class", "psychotherapy"], ["lithium-monitoring"], thase=1, maudsley=5, band="mild"))

    # Pregnancy and a current MAOI with tramadol: lithium and esketamine removed (pregnancy);
    # MAOI + serotonergic opioid flagged.
    s = Story("pregnancy-maoi", "1994-04-24").condition("Z33.1", "Pregnant state, incidental", "2025-03-01").condition("F33.2", "Major depressive disorder, recurrent severe without psychotic features", "2024-06-01")
    s.statement("sertraline", "2024-06-10", "2024-09-30", 100).phq9("2024-06-05", 20).phq9("2024-09-25", 19)
    s.statement("venlafaxine", "2024-10-05", "2025-01-31", 150).phq9("2025-01-25", 18)
    s.statement("phenelzine", "2025-02-20", None, 45)
    s.statement("tramadol", "2025-05-01", None, 50, text_only=True, display="tramadol 50 mg tablet")
    ex[s.name] = (s, expect("met", ["SNRI", "SSRI"], [
        trial("sertraline", "SSRI", "2024-06-10", "2024-09-30", 100, 113, True, [], "non-response", False, True),
        trial("venlafaxine", "SNRI", "2024-10-05", "2025-01-31", 150, 119, True, [], "non-response", False, True),
        trial("phenelzine", "MAOI", "2025-02-20", AS_OF, 45, 102, True, [], "unknown", False, False),
    ], ["augment", "psychotherapy", "ect"], ["maoi-serotonergic", "pregnancy", "serotonergic-combination"],
        thase=2, maudsley=6, band="mild"))

    # Seizure disorder: bupropion removed from augmentation and from the switch options.
    s = Story("seizure-disorder", "1984-05-15").condition("G40.909", "Epilepsy, unspecified, not intractable, without status epilepticus", "2010-01-01").condition(*MDD, "2024-07-01")
    s.statement("venlafaxine", "2024-07-05", "2024-10-31", 150).phq9("2024-07-01", 19).phq9("2024-10-25", 18)
    s.statement("sertraline", "2024-11-10", None, 150).phq9("2025-05-20", 17)
    ex[s.name] = (s, expect("met", ["SNRI", "SSRI"], [
        trial("venlafaxine", "SNRI", "2024-07-05", "2024-10-31", 150, 119, True, [], "non-response", False, True),
        trial("sertraline", "SSRI", "2024-11-10", AS_OF, 150, 204, True, [], "non-response", False, True),
    ], ["augment", "switch-class", "psychotherapy", "ect", "esketamine"], ["bupropion-seizure", "lithium-monitoring"],
        thase=2, maudsley=5, band="mild"))

    # Thase-Rush III (SSRI, SNRI, then a TCA failed) and a full Maudsley score: 27 months (3)
    # + baseline 22 (4) + 3 failed (2) + aripiprazole augmentation (1) + ECT (1) = 11 severe.
    s = Story("thase-rush-iii-maudsley", "1972-01-30").condition("F33.2", "Major depressive disorder, recurrent severe without psychotic features", "2023-03-01")
    s.phq9("2023-03-10", 22)
    s.statement("sertraline", "2023-03-15", "2023-07-31", 150).phq9("2023-07-25", 20)
    s.statement("venlafaxine", "2023-08-10", "2024-01-31", 225).phq9("2024-01-25", 19)
    s.statement("aripiprazole", "2023-11-01", "2024-01-31", 5)
    s.statement("nortriptyline", "2024-02-15", "2024-08-31", 100).phq9("2024-08-25", 18)
    s.procedure("http://www.ama-assn.org/go/cpt", "90870", "Electroconvulsive therapy", "2024-10-01")
    s.procedure("http://www.ama-assn.org/go/cpt", "90870", "Electroconvulsive therapy", "2024-10-03")
    ex[s.name] = (s, expect("met", ["SNRI", "SSRI", "TCA"], [
        trial("sertraline", "SSRI", "2023-03-15", "2023-07-31", 150, 139, True, [], "non-response", False, True),
        trial("venlafaxine", "SNRI", "2023-08-10", "2024-01-31", 225, 175, True, [], "non-response", False, True),
        trial("nortriptyline", "TCA", "2024-02-15", "2024-08-31", 100, 199, True, [], "non-response", False, True),
    ], ["augment", "switch-class", "psychotherapy", "ect", "esketamine"], ["lithium-monitoring"],
        thase=3, maudsley=11, band="severe"))

    # Psychotic features: ECT first. Duloxetine is given by reference to a Medication resource,
    # carbamazepine (a CYP inducer) by a contained Medication: interacting-drug on duloxetine.
    # Maudsley: 9 months (1) + psychotic features (5) + 2 failed (1) = 7 moderate. Psychotic
    # depression: no esketamine and no add-on augmentation doses (an antipsychotic at treatment
    # doses, or ECT).
    s = Story("psychotic-features-ect-first", "1968-02-29", "male").condition("F33.3", "Major depressive disorder, recurrent, severe with psychotic symptoms", "2024-09-01")
    s.statement("sertraline", "2024-09-05", "2024-12-31", 100).phq9("2024-09-01", 24).phq9("2024-12-20", 22)
    s.add({"resourceType": "Medication", "id": "med-duloxetine",
           "code": {"coding": [{"system": RXNORM, "code": "596934", "display": "duloxetine 60 MG Delayed Release Oral Capsule"}]}})
    s.add({"resourceType": "MedicationStatement", "id": "ms-duloxetine", "status": "active",
           "medicationReference": {"reference": "Medication/med-duloxetine"},
           "subject": {"reference": f"Patient/{s.pid}"}, "effectivePeriod": {"start": "2025-01-10"},
           "dosage": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                       "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "capsule", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "CAP"}}]}]})
    s.add({"resourceType": "MedicationStatement", "id": "ms-carbamazepine", "status": "active",
           "contained": [{"resourceType": "Medication", "id": "carb",
                          "code": {"coding": [{"system": RXNORM, "code": "2002", "display": "carbamazepine"}]}}],
           "medicationReference": {"reference": "#carb"},
           "subject": {"reference": f"Patient/{s.pid}"}, "effectivePeriod": {"start": "2025-02-01"}})
    s.phq9("2025-05-25", 21)
    ex[s.name] = (s, expect("met", ["SNRI", "SSRI"], [
        trial("sertraline", "SSRI", "2024-09-05", "2024-12-31", 100, 118, True, [], "non-response", False, True),
        trial("duloxetine", "SNRI", "2025-01-10", AS_OF, 60, 143, True, ["interacting-drug"], "non-response", False, True),
    ], ["ect", "switch-class", "psychotherapy"], [],
        thase=2, maudsley=7, band="moderate"))
    return ex


def cds_hooks(ex: dict[str, tuple[Story, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    classic = ex["classic-trd"][0]
    entries = classic.bundle()["entry"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])

    def searchset(rt: str) -> dict[str, Any]:
        items = by_type.get(rt, [])
        return {"resourceType": "Bundle", "type": "searchset", "total": len(items),
                "entry": [{"resource": r} for r in items]}

    base = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "fhirServer": "https://ehr.example.org/fhir",
            "fhirAuthorization": {"access_token": "example-token", "token_type": "Bearer", "expires_in": 300,
                                  "scope": "patient/*.read", "subject": "trd-cds"}}
    ctx = {"userId": "Practitioner/example", "patientId": classic.pid}
    prefetch = {
        "patient": by_type["Patient"][0],
        "conditions": searchset("Condition"),
        "medicationStatements": searchset("MedicationStatement"),
        "medicationRequests": searchset("MedicationRequest"),
        "medicationDispenses": searchset("MedicationDispense"),
        "observations": searchset("Observation"),
        "procedures": searchset("Procedure"),
    }
    draft = {
        "resourceType": "MedicationRequest", "id": "draft-phenelzine", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "312347", "display": "phenelzine 15 MG Oral Tablet"}]},
        "subject": {"reference": f"Patient/{classic.pid}"}, "authoredOn": AS_OF,
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                               "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"}}]}],
    }
    return {
        "patient-view-prefetch": {**base, "hook": "patient-view", "context": ctx, "prefetch": prefetch},
        "patient-view-no-prefetch": {**base, "hook": "patient-view", "context": ctx},
        "order-sign-maoi": {**base, "hook": "order-sign", "context": {
            **ctx, "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}},
            "prefetch": prefetch},
    }


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    ex = examples()
    (HERE / "expected").mkdir(exist_ok=True)
    (HERE / "cds-hooks").mkdir(exist_ok=True)
    manifest = {"asOf": AS_OF, "examples": {}}
    for name, (story, expected) in ex.items():
        (HERE / f"{name}.json").write_text(dump(story.bundle()), "utf-8")
        (HERE / "expected" / f"{name}.assessment.json").write_text(dump(expected), "utf-8")
        manifest["examples"][name] = {"bundle": f"{name}.json", "expected": f"expected/{name}.assessment.json"}
    for name, request in cds_hooks(ex).items():
        (HERE / "cds-hooks" / f"{name}.json").write_text(dump(request), "utf-8")
    (HERE / "manifest.json").write_text(dump(manifest), "utf-8")
    print(f"{len(ex)} examples")


if __name__ == "__main__":
    main()
