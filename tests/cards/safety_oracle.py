"""Patients described in a few fields, written out as FHIR R4 resources, and an oracle of what
safety_rules.csv forbids suggesting to them - written from the CSV's wording, independently of
the CQL, so that the tests compare two readings of the same rules.

What the oracle reads from ../shared/knowledge (transcribed here, so the tests run anywhere):
- maoi-serotonergic: an MAOI together with, or within washout of, an SSRI, SNRI, TCA,
  vilazodone, vortioxetine, bupropion, mirtazapine, tramadol, meperidine, methadone, fentanyl,
  dextromethorphan, St John's wort, linezolid or methylene blue: never suggest the other side;
- maoi-washout: 14 days after most antidepressants or the MAOI; 35 after fluoxetine; 7 after
  venlafaxine or desvenlafaxine; 5 after duloxetine; 21 after vortioxetine (washouts are
  given for antidepressants only, so a stopped opioid has none);
- bupropion-seizure: bupropion never with a seizure or eating disorder or an MAOI;
- lithium-monitoring: never suggested with eGFR < 30;
- esketamine-contraindication: aneurysmal vascular disease, arteriovenous malformation,
  intracerebral haemorrhage history, uncontrolled hypertension (latest reading of the last
  180 days >= 140 systolic or >= 90 diastolic, TRDConfig defaults);
- older-adult (age >= 65): no TCA, no paroxetine;
- pregnancy: no paroxetine, lithium or esketamine;
- bipolar-exclusion: no antidepressant suggestion at all (and no esketamine, a TRD treatment).
And from the project's own tables (cql/knowledge): bupropion-alcohol (no bupropion with an
alcohol use disorder, F10.*); renal_dosing.csv with eGFR < 30 (duloxetine avoided;
desvenlafaxine limited to 25 mg/day, below its adequate 50 mg, so never suggested).
A drafted drug (order-select / order-sign) counts as a drug taken now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"

# antidepressants.csv: ingredient -> (RxNorm, class, minimum adequate mg/day, usual maximum).
ANTIDEPRESSANTS: dict[str, tuple[str, str, float, float]] = {
    "citalopram": ("2556", "SSRI", 20, 40), "escitalopram": ("321988", "SSRI", 10, 20),
    "fluoxetine": ("4493", "SSRI", 20, 80), "paroxetine": ("32937", "SSRI", 20, 50),
    "sertraline": ("36437", "SSRI", 50, 200), "fluvoxamine": ("42355", "SSRI", 50, 300),
    "venlafaxine": ("39786", "SNRI", 150, 375), "desvenlafaxine": ("734064", "SNRI", 50, 100),
    "duloxetine": ("72625", "SNRI", 60, 120), "levomilnacipran": ("1433212", "SNRI", 40, 120),
    "milnacipran": ("588250", "SNRI", 100, 200), "amitriptyline": ("704", "TCA", 150, 300),
    "nortriptyline": ("7531", "TCA", 75, 150), "imipramine": ("5691", "TCA", 150, 300),
    "desipramine": ("3247", "TCA", 150, 300), "clomipramine": ("2597", "TCA", 150, 250),
    "doxepin": ("3638", "TCA", 150, 300), "trimipramine": ("10834", "TCA", 150, 300),
    "protriptyline": ("8886", "TCA", 30, 60), "amoxapine": ("722", "TCA", 150, 400),
    "maprotiline": ("6646", "TCA", 150, 225), "phenelzine": ("8123", "MAOI", 45, 90),
    "tranylcypromine": ("10734", "MAOI", 30, 60), "isocarboxazid": ("6011", "MAOI", 30, 60),
    "selegiline": ("9639", "MAOI", 6, 12), "bupropion": ("42347", "NDRI", 300, 450),
    "mirtazapine": ("15996", "NaSSA", 15, 45), "trazodone": ("10737", "SARI", 300, 600),
    "nefazodone": ("31565", "SARI", 300, 600), "vilazodone": ("1086769", "serotonin-modulator", 40, 40),
    "vortioxetine": ("1455099", "serotonin-modulator", 10, 20),
}
# augmentation_agents.csv (coded) and serotonergic drugs the tables know by name only.
OTHER_CODED = {"aripiprazole": "89013", "quetiapine": "51272", "lithium": "6448",
               "esketamine": "2119365"}
NAMED_ONLY = ("tramadol", "methadone", "linezolid", "dextromethorphan")

MAOIS = frozenset(d for d, (_, cls, _, _) in ANTIDEPRESSANTS.items() if cls == "MAOI")
TCAS = frozenset(d for d, (_, cls, _, _) in ANTIDEPRESSANTS.items() if cls == "TCA")
SEROTONERGIC = frozenset(
    {d for d, (_, cls, _, _) in ANTIDEPRESSANTS.items() if cls in {"SSRI", "SNRI", "TCA"}}
    | {"vilazodone", "vortioxetine", "bupropion", "mirtazapine", "tramadol", "meperidine",
       "methadone", "fentanyl", "dextromethorphan", "st john's wort", "linezolid",
       "methylene blue"})
WASHOUT_BEFORE_MAOI = {"fluoxetine": 35, "venlafaxine": 7, "desvenlafaxine": 7, "duloxetine": 5,
                       "vortioxetine": 21}
MAOI_WASHOUT = 14

CONDITIONS = {"pregnant": "Z33.1", "bipolar": "F31.81", "seizure": "G40.909",
              "eating": "F50.2", "aneurysm": "I71.4", "avm": "Q28.2", "ich": "I61.9",
              "substance": "F10.20", "mdd": "F33.1"}


@dataclass(frozen=True)
class Med:
    drug: str
    start: date
    end: date | None  # None: active, no end
    mg: float


@dataclass
class Spec:
    as_of: date
    birth: date
    conditions: set[str] = field(default_factory=lambda: {"mdd"})
    meds: list[Med] = field(default_factory=list)
    phq9: list[tuple[date, int]] = field(default_factory=list)
    egfr: float | None = None
    bp: tuple[float, float] | None = None
    drafts: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ FHIR resources
    def resources(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"resourceType": "Patient", "id": "p",
                                      "birthDate": self.birth.isoformat(), "gender": "female"}]
        for name in sorted(self.conditions):
            out.append({"resourceType": "Condition", "id": f"c-{name}",
                        "clinicalStatus": {"coding": [{"code": "active"}]},
                        "code": {"coding": [{"system": ICD10, "code": CONDITIONS[name]}]},
                        "onsetDateTime": (self.as_of - timedelta(days=800)).isoformat()})
        for n, med in enumerate(self.meds):
            period = {"start": med.start.isoformat(),
                      **({"end": med.end.isoformat()} if med.end else {})}
            out.append({"resourceType": "MedicationStatement", "id": f"m{n}",
                        "status": "active" if med.end is None else "completed",
                        "medicationCodeableConcept": concept(med.drug), "effectivePeriod": period,
                        "dosage": [{"doseAndRate": [{"doseQuantity": {
                            "value": med.mg, "unit": "mg", "system": "http://unitsofmeasure.org",
                            "code": "mg"}}]}]})
        for n, (when, score) in enumerate(self.phq9):
            out.append(_observation(f"phq{n}", "44261-6", when, valueInteger=score))
        if self.egfr is not None:
            out.append(_observation("egfr", "98979-8", self.as_of - timedelta(days=5),
                                    valueQuantity={"value": self.egfr, "unit": "mL/min/{1.73_m2}",
                                                   "code": "mL/min/{1.73_m2}"}))
        if self.bp is not None:
            for code, value in (("8480-6", self.bp[0]), ("8462-4", self.bp[1])):
                out.append(_observation(f"bp-{code}", code, self.as_of - timedelta(days=3),
                                        valueQuantity={"value": value, "unit": "mm[Hg]",
                                                       "code": "mm[Hg]"}))
        return out

    def draft_orders(self) -> list[dict[str, Any]]:
        return [{"resourceType": "MedicationRequest", "id": f"draft-{n}", "status": "draft",
                 "intent": "order", "subject": {"reference": "Patient/p"},
                 "medicationCodeableConcept": concept(drug)} for n, drug in enumerate(self.drafts)]

    # ------------------------------------------------------------------ the oracle
    def age(self) -> int:
        years = self.as_of.year - self.birth.year
        return years - ((self.as_of.month, self.as_of.day) < (self.birth.month, self.birth.day))

    def taken_now(self) -> set[str]:
        now = {m.drug for m in self.meds if m.start <= self.as_of and (m.end is None or m.end >= self.as_of)}
        return now | set(self.drafts)

    def recorded_now(self) -> set[str]:
        """What the record says is taken now (drafts aside)."""
        return {m.drug for m in self.meds if m.start <= self.as_of and (m.end is None or m.end >= self.as_of)}

    def days_since_stopped(self, drug: str) -> int | None:
        if drug in self.taken_now():
            return None
        ends = [m.end for m in self.meds if m.drug == drug and m.end is not None]
        return (self.as_of - max(ends)).days if ends else None

    def _stopped_within(self, drugs: frozenset[str], washout: dict[str, int] | int) -> bool:
        for drug in drugs:
            since = self.days_since_stopped(drug)
            days = washout if isinstance(washout, int) else washout.get(drug, MAOI_WASHOUT)
            if since is not None and since < days and drug in ANTIDEPRESSANTS:
                return True
        return False

    def uncontrolled_hypertension(self) -> bool:
        return self.bp is not None and (self.bp[0] >= 140 or self.bp[1] >= 90)

    def forbidden(self) -> set[str]:
        """Every agent safety_rules.csv forbids suggesting to this patient now."""
        now = self.taken_now()
        out: set[str] = set()
        maoi_now = bool(now & MAOIS)
        if maoi_now or self._stopped_within(MAOIS, MAOI_WASHOUT):
            out |= SEROTONERGIC
        if now & SEROTONERGIC or self._stopped_within(SEROTONERGIC, WASHOUT_BEFORE_MAOI):
            out |= MAOIS
        if self.conditions & {"seizure", "eating"} or maoi_now:
            out.add("bupropion")
        if "substance" in self.conditions:  # F10.20: alcohol withdrawal seizures
            out.add("bupropion")
        if self.egfr is not None and self.egfr < 30:
            # Lithium; duloxetine (avoid); desvenlafaxine (renal maximum below an adequate dose).
            out |= {"lithium", "duloxetine", "desvenlafaxine"}
        if self.conditions & {"aneurysm", "avm", "ich"} or self.uncontrolled_hypertension():
            out.add("esketamine")
        if self.age() >= 65:
            out |= TCAS | {"paroxetine"}
        if "pregnant" in self.conditions:
            out |= {"paroxetine", "lithium", "esketamine"}
        if "bipolar" in self.conditions:
            out |= set(ANTIDEPRESSANTS) | {"esketamine"}
        return out


def concept(drug: str) -> dict[str, Any]:
    if drug in ANTIDEPRESSANTS:
        return {"coding": [{"system": RX, "code": ANTIDEPRESSANTS[drug][0], "display": drug}]}
    if drug in OTHER_CODED:
        return {"coding": [{"system": RX, "code": OTHER_CODED[drug], "display": drug}]}
    return {"text": f"{drug} 50 mg tablet"}


def _observation(oid: str, loinc: str, when: date, **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"coding": [{"system": LOINC, "code": loinc}]},
            "effectiveDateTime": when.isoformat(), **value}


def suggested_agents(cards: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Agent -> the card topics whose suggestions order it (MedicationRequest) or refer for it
    (ServiceRequest), read from the FHIR resources of the actions, not from the texts."""
    out: dict[str, set[str]] = {}
    for card in cards:
        topic = card["source"]["topic"]["code"]
        for sug in card.get("suggestions", []):
            for act in sug.get("actions", []):
                resource = act.get("resource") or {}
                if resource.get("resourceType") == "MedicationRequest":
                    med = resource["medicationCodeableConcept"]
                    names = {str(med.get("text", "")).lower()} | {
                        str(c.get("display", "")).lower() for c in med.get("coding", [])}
                    code = {c.get("code") for c in med.get("coding", [])}
                    for drug, (rxcui, *_rest) in ANTIDEPRESSANTS.items():
                        if drug in names or rxcui in code:
                            out.setdefault(drug, set()).add(topic)
                    for drug, rxcui in OTHER_CODED.items():
                        if drug in names or rxcui in code:
                            out.setdefault(drug, set()).add(topic)
                elif resource.get("resourceType") == "ServiceRequest":
                    text = str(resource.get("code", {}).get("text", "")).lower()
                    for drug in ("esketamine",):
                        if drug in text:
                            out.setdefault(drug, set()).add(topic)
    return out
