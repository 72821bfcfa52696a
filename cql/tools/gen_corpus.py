#!/usr/bin/env python3
"""Deterministic synthetic patients for the reference comparison (one FHIR Bundle each).

    python3 cql/tools/gen_corpus.py OUT_DIR [--patients 200] [--partial 40] [--seed 20250601]
                                    [--as-of 2025-06-01]

The same seed always writes the same files (byte for byte). The patients vary every input the
TRD libraries read, so that the comparison with the reference engine walks their branches:
diagnoses by SNOMED code, ICD-10-CM family or value set, with onset as dateTime, Period or
recordedDate and every clinical / verification status; medication records as
MedicationStatements and MedicationRequests (status, intent, timing bounds or supply
duration, repeats), coded by ingredient, product or free text, or through a referenced
Medication; doses in mg, g, tablets or by timing code; stop reasons as codes and words;
dispenses; augmentation agents and interacting drugs; PHQ-9 totals and item 9 (standalone and
as panel components) as Quantity, integer or LOINC answer; eGFR and blood pressure; ECT and
psychotherapy procedures. Date-times carry several UTC offsets.

Besides corpus-NNNN, ``--partial`` patients (corpus-partial-NNNN, from a stream of their own,
so the main patients stay byte for byte the same) carry the partial dates of real records: a
birthDate known to the year or the month, medication periods, bounds and onsets known to the
month, sometimes only to the year. Durations between such dates are uncertain ranges.

Standard library only: codes come from the ValueSet files in cql/valuesets.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

CQL_DIR = Path(__file__).resolve().parents[1]
VALUESETS = CQL_DIR / "valuesets"

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

ANTIDEPRESSANT_CLASSES = ("ssri", "snri", "tca", "maoi", "ndri", "nassa", "sari", "serotonin-modulator")
# Condition value sets and ICD-10-CM codes of the families the libraries match by prefix.
CONDITION_SETS = ("mdd-psychotic-features", "hypertension", "suicidal-ideation", "hypothyroidism",
                  "pregnancy", "aneurysmal-vascular-disease", "arteriovenous-malformation",
                  "intracerebral-hemorrhage")
FAMILY_CODES = ("F31.4", "F20.0", "F25.1", "F10.20", "F50.00", "G40.909", "F32.2", "F33.1", "F32.A")
OFFSETS = ("Z", "+00:00", "+02:00", "-05:00", "+09:30", "-11:00")
LACK_OF_EFFICACY_TEXT = ("ineffective", "No improvement after 8 weeks", "lack of efficacy",
                         "treatment failure", "patient preference")
ADVERSE_TEXT = ("side effects", "Nausea - not tolerated", "allergic reaction", "intolerance")


def codes_of(name: str) -> list[dict[str, str]]:
    """Codings of a ValueSet file's expansion (or compose), [] when the file is absent."""
    path = VALUESETS / f"{name}.json"
    if not path.exists():
        return []
    vs = json.loads(path.read_text(encoding="utf-8"))
    out = [{"system": c["system"], "code": c["code"], "display": c.get("display", "")}
           for c in vs.get("expansion", {}).get("contains", []) if "code" in c]
    if not out:
        for inc in vs.get("compose", {}).get("include", []):
            out += [{"system": inc["system"], "code": c["code"], "display": c.get("display", "")}
                    for c in inc.get("concept", [])]
    return out


class Corpus:
    def __init__(self, seed: int, as_of: date) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.as_of = as_of
        self.drugs = {cls: codes_of(f"antidepressant-{cls}") for cls in ANTIDEPRESSANT_CLASSES}
        self.drugs = {k: v for k, v in self.drugs.items() if v}
        self.products = [c for c in codes_of("antidepressant-medication")
                         if any(ch.isdigit() for ch in c["display"])]
        self.augmentation = codes_of("augmentation-agents")
        self.interacting = codes_of("interacting-drugs")
        self.mdd = codes_of("mdd")
        self.conditions = {n: codes_of(n) for n in CONDITION_SETS}

    # ---- small pieces ----------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, items: Any) -> Any:
        return self.rng.choice(list(items))

    def day(self, low: int, high: int) -> date:
        """A day between `low` and `high` days before the as-of date."""
        return self.as_of - timedelta(days=self.rng.randint(low, high))

    def date_time(self, d: date) -> str:
        """A dateTime on day d: a plain date, or a time with one of several offsets."""
        if self.chance(0.3):
            return d.isoformat()
        return f"{d.isoformat()}T{self.rng.randint(0, 23):02d}:{self.pick((0, 15, 30, 45)):02d}:00" \
               f"{self.pick(OFFSETS)}"

    # ---- resources --------------------------------------------------------------------------

    def patient(self, pid: str) -> dict[str, Any]:
        birth = self.as_of - timedelta(days=self.rng.randint(17 * 365, 88 * 365))
        return {"resourceType": "Patient", "id": pid, "gender": self.pick(("female", "male", "other")),
                "birthDate": birth.isoformat() if self.chance(0.9) else birth.isoformat()[:7]}

    def condition(self, pid: str, n: int, coding: dict[str, str], onset: date) -> dict[str, Any]:
        c: dict[str, Any] = {"resourceType": "Condition", "id": f"{pid}-c{n}",
                             "subject": {"reference": f"Patient/{pid}"}, "code": {"coding": [coding]}}
        if self.chance(0.93):
            status = self.pick(("active",) * 14 + ("recurrence", "relapse", "resolved", "remission"))
            c["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": status}]}
        if self.chance(0.8):
            ver = self.pick(("confirmed",) * 16 + ("provisional", "refuted", "entered-in-error"))
            c["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": ver}]}
        how = self.rng.random()
        if how < 0.6:
            c["onsetDateTime"] = self.date_time(onset)
        elif how < 0.75:
            c["onsetPeriod"] = {"start": self.date_time(onset)}
        elif how < 0.95:
            c["recordedDate"] = self.date_time(onset)
        return c

    def medication_concept(self, coding: dict[str, str] | None, text: str | None) -> dict[str, Any]:
        cc: dict[str, Any] = {}
        if coding:
            cc["coding"] = [{"system": coding["system"], "code": coding["code"],
                             **({"display": coding["display"]} if coding["display"] and self.chance(0.5) else {})}]
        if text:
            cc["text"] = text
        return cc

    def dosage(self, mg: float, product: bool) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.chance(0.75):
            d["timing"] = {"repeat": self.pick((
                {"frequency": 1, "period": 1, "periodUnit": "d"},
                {"frequency": 2, "period": 1, "periodUnit": "d"},
                {"frequency": 1, "period": 12, "periodUnit": "h"},
                {"frequency": 7, "period": 1, "periodUnit": "wk"},
                {"frequency": 1, "period": 2, "periodUnit": "d"},
            ))}
        elif self.chance(0.5):
            d["timing"] = {"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                                                "code": self.pick(("QD", "BID", "TID", "QOD", "Q12H", "AM"))}]}}
        if self.chance(0.9):
            if product and self.chance(0.7):
                quantity = {"value": self.pick((1, 1, 2, 0.5)), "unit": self.pick(("tablet", "TAB", "capsule", "1"))}
            elif self.chance(0.1):
                quantity = {"value": mg / 1000, "unit": "g", "system": UCUM, "code": "g"}
            else:
                quantity = {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}
            d["doseAndRate"] = [{"doseQuantity": quantity}]
        return d

    def reason(self) -> list[dict[str, Any]]:
        r = self.rng.random()
        if r < 0.15:
            return [{"text": self.pick(LACK_OF_EFFICACY_TEXT)}]
        if r < 0.25:
            return [{"text": self.pick(ADVERSE_TEXT)}]
        if r < 0.3:
            return [{"coding": [{"system": SNOMED, "code": "281647001", "display": "Adverse reaction"}]}]
        if r < 0.35:
            return [{"coding": [{"system": SNOMED, "code": "410536001"}], "text": "Contraindicated"}]
        return []

    def medication_record(self, pid: str, n: int, coding: dict[str, str] | None, text: str | None,
                          start: date, end: date, mg: float, product: bool,
                          extra: list[dict[str, Any]]) -> dict[str, Any]:
        ongoing = end >= self.as_of
        concept = self.medication_concept(coding, text)
        if self.chance(0.08) and concept:
            # The code through a referenced Medication resource.
            extra.append({"resourceType": "Medication", "id": f"{pid}-med{n}", "code": concept})
            med: dict[str, Any] = {"medicationReference": {"reference": f"Medication/{pid}-med{n}"}}
        else:
            med = {"medicationCodeableConcept": concept}
        subject = {"reference": f"Patient/{pid}"}
        if self.chance(0.6):
            status = "active" if ongoing else self.pick(
                ("completed", "completed", "stopped", "on-hold", "not-taken", "unknown", "intended"))
            ms: dict[str, Any] = {"resourceType": "MedicationStatement", "id": f"{pid}-ms{n}",
                                  "status": status, "subject": subject, **med,
                                  "dosage": [self.dosage(mg, product)]}
            shape = self.rng.random()
            if shape < 0.08:
                ms["effectiveDateTime"] = self.date_time(start)
            elif ongoing or shape < 0.18:
                ms["effectivePeriod"] = {"start": self.date_time(start)}
            else:
                ms["effectivePeriod"] = {"start": self.date_time(start), "end": self.date_time(end)}
            if self.chance(0.3):
                ms["dateAsserted"] = self.date_time(min(end + timedelta(days=self.rng.randint(0, 20)), self.as_of))
            reasons = self.reason()
            if reasons and status in ("stopped", "completed", "on-hold", "not-taken"):
                ms["statusReason"] = reasons
            if self.chance(0.1):
                ms["dosage"].append(self.dosage(mg / 2, product))
            return ms
        status = "active" if ongoing else self.pick(("completed", "stopped", "stopped", "cancelled", "draft"))
        mr: dict[str, Any] = {"resourceType": "MedicationRequest", "id": f"{pid}-mr{n}", "status": status,
                              "intent": self.pick(("order",) * 6 + ("plan", "proposal", "original-order")),
                              "subject": subject, **med, "authoredOn": self.date_time(start)}
        dosage = self.dosage(mg, product)
        shape = self.rng.random()
        days = (end - start).days + 1
        if shape < 0.35:
            dosage.setdefault("timing", {}).setdefault("repeat", {})["boundsPeriod"] = (
                {"start": start.isoformat()} if ongoing else {"start": start.isoformat(), "end": end.isoformat()})
        elif shape < 0.75:
            unit, size = self.pick((("d", 1), ("wk", 7), ("mo", 30)))
            repeats = self.rng.randint(0, 3)
            per_fill = max(1, days // ((repeats + 1) * size))
            mr["dispenseRequest"] = {"expectedSupplyDuration": {"value": per_fill, "unit": unit,
                                                                "system": UCUM, "code": unit},
                                     "numberOfRepeatsAllowed": repeats}
        elif shape < 0.85:
            mr["dispenseRequest"] = {"validityPeriod": {"start": start.isoformat(), "end": end.isoformat()}}
        mr["dosageInstruction"] = [dosage]
        reasons = self.reason()
        if reasons and status == "stopped":
            mr["statusReason"] = reasons[0]
        return mr

    def dispenses(self, pid: str, n: int, coding: dict[str, str], start: date, end: date) -> list[dict[str, Any]]:
        out = []
        day, k = start, 0
        supply = self.pick((28, 30, 30, 90))
        while day <= min(end, self.as_of) and k < 8:
            out.append({"resourceType": "MedicationDispense", "id": f"{pid}-md{n}-{k}",
                        "status": self.pick(("completed",) * 9 + ("cancelled",)),
                        "subject": {"reference": f"Patient/{pid}"},
                        "medicationCodeableConcept": {"coding": [{"system": coding["system"], "code": coding["code"]}]},
                        "whenHandedOver": self.date_time(day),
                        "daysSupply": {"value": supply, "unit": "day", "system": UCUM, "code": "d"}})
            day += timedelta(days=supply + self.rng.randint(-3, 8))
            k += 1
        return out

    def observation(self, pid: str, oid: str, code: str, display: str, d: date, value: Any) -> dict[str, Any]:
        o: dict[str, Any] = {"resourceType": "Observation", "id": f"{pid}-{oid}",
                             "status": self.pick(("final",) * 12 + ("amended", "preliminary", "entered-in-error")),
                             "subject": {"reference": f"Patient/{pid}"},
                             "code": {"coding": [{"system": LOINC, "code": code, "display": display}]}}
        shape = self.rng.random()
        if shape < 0.8:
            o["effectiveDateTime"] = self.date_time(d)
        elif shape < 0.9:
            o["effectivePeriod"] = {"start": self.date_time(d)}
        else:
            o["issued"] = f"{d.isoformat()}T10:00:00{self.pick(('Z', '+01:00', '-07:00'))}"
        o.update(value)
        return o

    def score_value(self, score: int, answer: bool) -> dict[str, Any]:
        if answer:
            code = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")[score]
            return {"valueCodeableConcept": {"coding": [{"system": LOINC, "code": code}]}}
        if self.chance(0.3):
            return {"valueInteger": score}
        return {"valueQuantity": {"value": score, "unit": "{score}", "system": UCUM, "code": "{score}"}}

    def procedure(self, pid: str, n: int, coding: dict[str, str], d: date) -> dict[str, Any]:
        p: dict[str, Any] = {"resourceType": "Procedure", "id": f"{pid}-p{n}",
                             "status": self.pick(("completed", "completed", "in-progress", "not-done")),
                             "subject": {"reference": f"Patient/{pid}"}, "code": {"coding": [coding]}}
        if self.chance(0.8):
            p["performedDateTime"] = self.date_time(d)
        else:
            p["performedPeriod"] = {"start": self.date_time(d), "end": self.date_time(d + timedelta(days=30))}
        return p

    def resistant_courses(self, pid: str, n: int, onset: date, rng: random.Random,
                          res: list[dict[str, Any]]) -> int:
        """Two to four long courses at a high dose of distinct classes, stopped for lack of
        effect (TCA and MAOI among them at times, ECT after them at times): the resistant
        patients that reach TRD 'met', the higher Thase-Rush stages and the Maudsley bands."""
        classes = [c for c in ("ssri", "snri", "ndri", "nassa", "serotonin-modulator") if c in self.drugs]
        rng.shuffle(classes)
        for cls in ("tca", "maoi"):
            if cls in self.drugs and rng.random() < 0.5:
                classes.insert(rng.randint(1, 2), cls)
        start = onset + timedelta(days=rng.randint(5, 40))
        for cls in classes[:rng.randint(2, 4)]:
            end = start + timedelta(weeks=rng.randint(9, 14))
            if end >= self.as_of:
                break
            coding = rng.choice(self.drugs[cls])
            mg = 60 if cls == "maoi" else 300
            res.append({"resourceType": "MedicationStatement", "id": f"{pid}-rc{n}", "status": "stopped",
                        "subject": {"reference": f"Patient/{pid}"},
                        "medicationCodeableConcept": {"coding": [{"system": coding["system"], "code": coding["code"]}]},
                        "effectivePeriod": {"start": start.isoformat(), "end": end.isoformat()},
                        "statusReason": [{"text": rng.choice(LACK_OF_EFFICACY_TEXT[:4])}],
                        "dosage": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                                    "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg",
                                                                      "system": UCUM, "code": "mg"}}]}]})
            n += 1
            start = end + timedelta(days=rng.randint(1, 20))
        ect = codes_of("ect")
        if ect and rng.random() < 0.4 and start < self.as_of:
            res.append({"resourceType": "Procedure", "id": f"{pid}-p{n}", "status": "completed",
                        "subject": {"reference": f"Patient/{pid}"}, "code": {"coding": [rng.choice(ect)]},
                        "performedDateTime": start.isoformat()})
            n += 1
        return n

    # ---- one patient ------------------------------------------------------------------------

    def bundle(self, index: int) -> dict[str, Any]:
        pid = f"corpus-{index:04d}"
        # Draws added after the first version of the corpus come from their own stream, so
        # that the patients of the main stream (named as witnesses in tests) stay the same.
        extra_rng = random.Random(f"{self.seed}-{index}")
        res: list[dict[str, Any]] = [self.patient(pid)]
        onset = self.day(60, 1400)
        n = 0
        if self.chance(0.88):
            coding = (self.pick(self.mdd) if self.chance(0.6) or not self.mdd
                      else {"system": ICD10, "code": self.pick(("F32.1", "F33.2", "F32.9", "F33.0")), "display": ""})
            res.append(self.condition(pid, n, coding, onset))
            n += 1
            if self.chance(0.15):  # an older, resolved or newer MDD Condition as well
                res.append(self.condition(pid, n, self.pick(self.mdd), self.day(30, 2000)))
                n += 1
        for codings in self.conditions.values():
            if codings and self.chance(0.06):
                res.append(self.condition(pid, n, self.pick(codings), self.day(10, 3000)))
                n += 1
        if self.chance(0.12):
            res.append(self.condition(pid, n, {"system": ICD10, "code": self.pick(FAMILY_CODES), "display": ""},
                                      self.day(10, 3000)))
            n += 1

        extra: list[dict[str, Any]] = []
        start = onset - timedelta(days=self.rng.randint(-20, 120))
        classes = sorted(self.drugs)
        for _ in range(self.pick((0, 1, 2, 2, 3, 3, 4, 5, 6))):
            cls = self.pick(classes)
            use_product = bool(self.products) and self.chance(0.25)
            coding = self.pick(self.products) if use_product else self.pick(self.drugs[cls])
            text = None
            if self.chance(0.1):  # free text only (name match)
                name = self.pick(self.drugs[cls])["display"] or "sertraline"
                text, coding, use_product = f"{name.capitalize()} 50 mg tablets", None, False
            weeks = self.pick((2, 3, 4, 6, 7, 8, 8, 9, 10, 12, 16, 26))
            end = start + timedelta(weeks=weeks)
            if end > self.as_of - timedelta(days=5) and self.chance(0.7):
                end = self.as_of + timedelta(days=30)  # ongoing
            mg = float(self.pick((5, 10, 20, 37.5, 50, 75, 100, 150, 150, 200, 225, 300)))
            for piece in range(self.pick((1, 1, 1, 2, 3))):
                # Refills of one course, sometimes with gaps around the 30-day limit.
                p_start = start + timedelta(days=piece * (end - start).days // 3)
                p_end = end if piece == 2 else min(end, p_start + timedelta(days=self.rng.randint(14, 120)))
                if p_start > self.as_of:
                    break
                res.append(self.medication_record(pid, n, coding, text, p_start, p_end, mg * (1 + piece % 2),
                                                  use_product, extra))
                n += 1
            if coding and self.chance(0.35):
                res.extend(self.dispenses(pid, n, coding, start, end))
                n += 1
            if self.chance(0.15) and self.augmentation:
                aug_start = start + timedelta(days=self.rng.randint(1, 60))
                if aug_start < self.as_of:
                    res.append(self.medication_record(pid, n, self.pick(self.augmentation), None, aug_start,
                                                      aug_start + timedelta(days=self.rng.randint(10, 200)),
                                                      5.0, False, extra))
                    n += 1
            if self.chance(0.08) and self.interacting:
                res.append(self.medication_record(pid, n, self.pick(self.interacting), None, start,
                                                  end, 200.0, False, extra))
                n += 1
            start = end + timedelta(days=self.rng.randint(-21, 45))
            if start >= self.as_of:
                break
        if extra_rng.random() < 0.25:
            n = self.resistant_courses(pid, n, onset, extra_rng, res)
        res.extend(extra)

        d, k = onset - timedelta(days=self.rng.randint(0, 40)), 0
        level = self.rng.randint(8, 27)
        # Some patients do not improve (resistant), the others drift down at varying speed.
        drift = (-3, 3) if self.chance(0.45) else (-6, 4)
        while d <= self.as_of and k < 30:
            level = max(0, min(27, level + self.rng.randint(*drift)))
            res.append(self.observation(pid, f"phq{k}", "44261-6", "PHQ-9 total", d,
                                        self.score_value(level, answer=False)))
            if extra_rng.random() < 0.04:  # a second total the same day (ties in "latest")
                res.append({**res[-1], "id": f"{pid}-phq{k}b", "status": "final",
                            "valueInteger": max(0, level + extra_rng.randint(-4, 4))})
                res[-1].pop("valueQuantity", None)
            item9 = self.pick((0, 0, 0, 0, 1, 2, 3))
            if self.chance(0.5):
                res.append(self.observation(pid, f"i9-{k}", "44260-8", "PHQ-9 item 9", d,
                                            self.score_value(item9, answer=self.chance(0.5))))
            elif self.chance(0.3):
                panel = self.observation(pid, f"panel{k}", "44249-1", "PHQ-9 panel", d, {})
                panel["component"] = [{"code": {"coding": [{"system": LOINC, "code": "44260-8"}]},
                                       **self.score_value(item9, answer=True)}]
                res.append(panel)
            if self.chance(0.25):
                res.append(self.observation(pid, f"sbp{k}", "8480-6", "Systolic", d, {"valueQuantity": {
                    "value": self.rng.randint(100, 175), "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}}))
            if self.chance(0.15):
                bp = self.observation(pid, f"bp{k}", "85354-9", "Blood pressure panel", d, {})
                bp["component"] = [
                    {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                     "valueQuantity": {"value": self.rng.randint(100, 175), "unit": "mm[Hg]"}},
                    {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                     "valueQuantity": {"value": self.rng.randint(60, 110), "unit": "mm[Hg]"}}]
                res.append(bp)
            if self.chance(0.1):
                res.append(self.observation(pid, f"egfr{k}", "62238-1", "eGFR", d, {"valueQuantity": {
                    "value": self.rng.randint(15, 110), "unit": "mL/min/{1.73_m2}"}}))
            d += timedelta(days=self.rng.randint(7, 70))
            k += 1

        for name, prob in (("ect", 0.1), ("psychotherapy", 0.3)):
            codings = codes_of(name)
            if codings and self.chance(prob):
                res.append(self.procedure(pid, n, self.pick(codings), self.day(0, 900)))
                n += 1
        return {"resourceType": "Bundle", "id": pid, "type": "collection",
                "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in res]}


def _coarser(value: str, rng: random.Random, year_share: float) -> str:
    """A date or dateTime cut to the month (or, ``year_share`` of the time, the year)."""
    return value[:4] if rng.random() < year_share else value[:7]


# The date elements cut to a coarser precision, by resource type: (path to a dict, key).
_PARTIAL_PATHS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "MedicationStatement": ((("effectivePeriod",), "start"), (("effectivePeriod",), "end"),
                            ((), "effectiveDateTime")),
    "MedicationRequest": ((("dosageInstruction", "timing", "repeat", "boundsPeriod"), "start"),
                          (("dosageInstruction", "timing", "repeat", "boundsPeriod"), "end"),
                          ((), "authoredOn")),
    "Condition": ((("onsetPeriod",), "start"), ((), "onsetDateTime")),
    "Procedure": ((("performedPeriod",), "start"), (("performedPeriod",), "end")),
}


def _holders(resource: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """The dicts at ``path`` (lists along the way are walked item by item)."""
    found: list[Any] = [resource]
    for key in path:
        step: list[Any] = []
        for node in found:
            child = node.get(key) if isinstance(node, dict) else None
            step.extend(child if isinstance(child, list) else [child] if child is not None else [])
        found = step
    return [h for h in found if isinstance(h, dict)]


def make_partial(bundle: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The bundle with the partial dates of real records (see the module docstring)."""
    for entry in bundle["entry"]:
        r = entry["resource"]
        if r["resourceType"] == "Patient" and "birthDate" in r:
            r["birthDate"] = _coarser(r["birthDate"], rng, 0.6)
            continue
        for path, key in _PARTIAL_PATHS.get(r["resourceType"], ()):
            for holder in _holders(r, path):
                if isinstance(holder.get(key), str) and rng.random() < 0.6:
                    holder[key] = _coarser(holder[key], rng, 0.15)
    return bundle


def partial_bundle(corpus: Corpus, index: int) -> dict[str, Any]:
    pid = f"corpus-partial-{index:04d}"
    bundle = corpus.bundle(index)
    text = json.dumps(bundle).replace(f"corpus-{index:04d}", pid)
    return make_partial(json.loads(text), random.Random(f"{corpus.seed}-dates-{index}"))


def generate(out_dir: Path, patients: int, seed: int, as_of: date, partial: int = 0) -> list[Path]:
    """Writes corpus-NNNN.json files and ``partial`` corpus-partial-NNNN.json files (and
    removes stale ones); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("corpus-*.json"):
        old.unlink()
    corpus = Corpus(seed, as_of)
    paths = []
    for i in range(patients):
        path = out_dir / f"corpus-{i:04d}.json"
        path.write_text(json.dumps(corpus.bundle(i), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    imprecise = Corpus(seed + 1, as_of)
    for i in range(partial):
        path = out_dir / f"corpus-partial-{i:04d}.json"
        path.write_text(json.dumps(partial_bundle(imprecise, i), indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
        paths.append(path)
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--partial", type=int, default=40,
                    help="patients with partial dates (corpus-partial-NNNN), besides the others")
    ap.add_argument("--seed", type=int, default=20250601)
    ap.add_argument("--as-of", default="2025-06-01")
    args = ap.parse_args()
    paths = generate(args.out_dir, args.patients, args.seed, date.fromisoformat(args.as_of),
                     args.partial)
    print(f"{len(paths)} bundles in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
