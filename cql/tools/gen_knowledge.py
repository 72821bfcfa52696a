#!/usr/bin/env python3
"""Generate the CQL data library and the FHIR ValueSets from the knowledge tables.

The clinical facts live once, in ``knowledge/*.csv`` of the shared folder (``../shared`` beside
the checkout, or ``$SHARED``); the project's own tables (how EHRs write a dose unit, and the
codes it adds to codes.csv, each with its reason) live in ``cql/knowledge/*.csv``. This script turns them into:

* ``cql/AntidepressantData.cql``: the tables as CQL lists of Tuples;
* ``cql/valuesets/*.json``: FHIR R4 ValueSets (enumerated ``compose`` and an ``expansion``).

Run it after editing a table, then rebuild the ELM:
    python cql/tools/gen_knowledge.py && node cql/tools/build-elm.mjs
``--check`` exits 1 when the committed files differ from what the tables produce.

Decisions written down here:
* ICD-10-CM families (``F32.*``, ``F20.*-F29.*``) are NOT expanded into invented code lists:
  they become prefix rows (``ICD10 Families``) that the CQL matches with ``StartsWith`` on the
  dot-less code, and a ``compose.include.filter`` (``concept is-a``) in the ValueSet so that a
  terminology server can expand them. Exact codes are enumerated.
* Rows tagged ``U`` keep their code in the value set (marked with a designation) but the CQL
  never relies on the code alone: medications are matched by ingredient name in the coding
  display or text as a fallback (``Name Matches``), reasons by their wording.
* The MAOI washout days are read from the ``maoi-washout`` rule text of safety_rules.csv and
  the serotonergic drugs from the ``maoi-serotonergic`` / ``serotonergic-combination`` rules.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

CQL_DIR = Path(__file__).resolve().parent.parent
CHECKOUT = CQL_DIR.parent
SHARED = Path(os.environ.get("SHARED", CHECKOUT.parent / "shared"))
KNOWLEDGE = SHARED / "knowledge"
PROJECT_KNOWLEDGE = CQL_DIR / "knowledge"
# The code systems of a dose unit (cql/knowledge/dose_units.csv); "text" rows match the unit's
# text (or a code sent without a system), lower case and trimmed.
UNIT_SYSTEMS = {
    "ucum": "http://unitsofmeasure.org",
    "snomed": "http://snomed.info/sct",
    "orderableDrugForm": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
    "text": "text",
}
BASE = "http://trd-cds.org/fhir/ValueSet/"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
VS_VERSION = "1.0.0"

# Value sets whose concept VSAC already publishes (identifier only; the codes are ours).
VSAC_OIDS = {
    "antidepressant-medication": "2.16.840.1.113883.3.464.1003.196.12.1213",
    "mdd": "2.16.840.1.113883.3.526.3.1491",  # Major Depressive Disorder Active
    "bipolar": "2.16.840.1.113883.3.67.1.101.1.128",  # Bipolar Disorder (CMS159)
    "pregnancy": "2.16.840.1.113883.3.526.3.378",  # Pregnancy
}

# "triptans" in the serotonergic-combination rule, expanded to the marketed ingredients.
TRIPTANS = ["almotriptan", "eletriptan", "frovatriptan", "naratriptan", "rizatriptan",
            "sumatriptan", "zolmitriptan"]



def read(name: str, folder: Path = KNOWLEDGE) -> list[dict[str, str]]:
    with open(folder / name, newline="", encoding="utf-8") as f:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


def cql_str(s: str | None) -> str:
    if s is None or s == "":
        return "null"
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def cql_dec(s: str | None) -> str:
    if s is None or s == "":
        return "null"
    d = Decimal(s)
    text = format(d, "f")
    return text if "." in text else text + ".0"


def cql_bool(b: bool) -> str:
    return "true" if b else "false"


def tuples(rows: list[dict[str, str]]) -> str:
    body = ",\n    ".join(
        "Tuple { " + ", ".join(f"{k}: {v}" for k, v in row.items()) + " }" for row in rows
    )
    return "{\n    " + body + "\n  }"


def norm_name(s: str) -> str:
    """The normal form name matching uses: lower case, runs of non-letters as one space."""
    return re.sub(r"[^a-z]+", " ", s.lower()).strip()


def washout_days(rules: list[dict[str, str]], ingredients: list[str]) -> tuple[int, dict[str, int]]:
    text = next(r["trigger"] for r in rules if r["id"] == "maoi-washout")
    default = 14
    per: dict[str, int] = {}
    for part in text.split(";"):
        m = re.search(r"(\d+)\s*(days|weeks)", part)
        if not m:
            continue
        days = int(m.group(1)) * (7 if m.group(2) == "weeks" else 1)
        names = [i for i in ingredients if re.search(rf"\b{i}\b", part)]
        if "most antidepressants" in part:
            default = days
        for n in names:
            per[n] = days
    return default, per


def serotonergic_names(rules: list[dict[str, str]], ad_names: set[str]) -> list[str]:
    """Non-antidepressant serotonergic drugs named by the MAOI and combination rules."""
    out: list[str] = []
    text = next(r["trigger"] for r in rules if r["id"] == "maoi-serotonergic")
    for token in text.split(":", 1)[1].split():
        name = token.replace("-", " ").lower()
        if name in {"ssri", "snri", "tca"} or name in ad_names:
            continue
        out.append(name)
    return [*out, *TRIPTANS, "lithium"]


def gen_cql() -> str:
    ads = read("antidepressants.csv")
    products = read("antidepressant_products.csv")
    aug = read("augmentation_agents.csv")
    inter = read("interacting_drugs.csv")
    codes = read("codes.csv")
    rules = read("safety_rules.csv")
    ad_names = [a["ingredient"] for a in ads]
    default_washout, washout = washout_days(rules, ad_names)
    aug_names = {a["agent"] for a in aug}

    ad_rows = []
    for a in ads:
        # Every antidepressant class but the MAOIs raises serotonin (the MAOI rule names
        # SSRI, SNRI, TCA and the single drugs of the other classes).
        serotonergic = a["class"] != "MAOI"
        ad_rows.append({
            "ingredient": cql_str(a["ingredient"]),
            "rxcui": cql_str(a["rxcui"]),
            "drugClass": cql_str(a["class"]),
            "minAdequateMg": cql_dec(a["min_adequate_mg_day"]),
            "usualMaxMg": cql_dec(a["usual_max_mg_day"]),
            "serotonergic": cql_bool(serotonergic),
            "washoutDays": str(washout.get(a["ingredient"], default_washout)),
            "confidence": cql_str(a["confidence"]),
        })
    prod_rows = []
    prod_aug_rows = []
    for p in products:
        parts = p["ingredients"].split(";")
        ingredient = next((i for i in parts if i in ad_names), None)
        if ingredient is None:
            continue
        prod_rows.append({
            "rxcui": cql_str(p["rxcui"]),
            "ingredient": cql_str(ingredient),
            # Strength of the first component: only meaningful when that is the antidepressant.
            "strength": cql_dec(p["strength_first_component"]) if parts[0] == ingredient else "null",
            "strengthUnit": cql_str(p["strength_unit"]) if parts[0] == ingredient else "null",
            "release": cql_str(p["release"]),
        })
        for other in parts:
            if other != ingredient and other in aug_names:
                prod_aug_rows.append({"rxcui": cql_str(p["rxcui"]), "agent": cql_str(other)})
    aug_rows = []
    for a in aug:
        low, _, high = a["usual_dose_range"].partition("-")
        aug_rows.append({
            "agent": cql_str(a["agent"]),
            "rxcui": cql_str(a["rxcui"]) if a["confidence"] != "U" else "null",
            "kind": cql_str(a["kind"]),
            "isAntidepressant": cql_bool(a["kind"].startswith("antidepressant")),
            "startDose": cql_dec(a["start_dose"]),
            "doseLow": cql_dec(low),
            "doseHigh": cql_dec(high or low),
            "unit": cql_str(a["unit"]),
            "matchName": cql_str(norm_name(a["agent"])),
        })
    inter_rows = [{
        "ingredient": cql_str(i["ingredient"]),
        "rxcui": cql_str(i["rxcui"]) if i["confidence"] != "U" else "null",
        "matchName": cql_str(norm_name(i["ingredient"])),
    } for i in inter]
    # St John's wort is sold as hypericum: the botanical name is the same drug.
    inter_rows += [{"ingredient": cql_str("st john's wort"), "rxcui": "null",
                    "matchName": cql_str("hypericum")}]
    unit_rows = [{
        # 'system|code': the key "Dose Unit" looks a row up by.
        "key": cql_str(f"{UNIT_SYSTEMS[u['system']]}|{u['code']}"),
        "system": cql_str(UNIT_SYSTEMS[u["system"]]),
        # An empty text is a dose with no unit at all: one unit of the product.
        "code": cql_str(u["code"]) if u["code"] else "''",
        "kind": cql_str(u["kind"]),
        # Typed even where empty, so that a row can be passed as one typed Tuple.
        "mgPerUnit": cql_dec(u["mg_per_unit"]) if u["mg_per_unit"] else "null as Decimal",
    } for u in read("dose_units.csv", PROJECT_KNOWLEDGE)]
    # Pairs of serotonergic drugs that are not a serotonin-syndrome pair, with the reason
    # (partner: an ingredient, an antidepressant class, or * for any partner).
    exception_rows = [{
        "drug": cql_str(e["drug"]),
        "partner": cql_str(e["partner"]),
        "reason": cql_str(e["reason"]),
    } for e in read("serotonin_syndrome_exceptions.csv", PROJECT_KNOWLEDGE)]
    # Dose advice with severe renal impairment (the project's renal_dosing.csv): avoid, limit
    # to max_daily_mg, or reduce (the advice says by how much).
    renal_rows = [{
        "ingredient": cql_str(r["ingredient"]),
        "action": cql_str(r["action"]),
        "maxDailyMg": cql_dec(r["max_daily_mg"]) if r["max_daily_mg"] else "null as Decimal",
        "advice": cql_str(r["advice"]),
    } for r in read("renal_dosing.csv", PROJECT_KNOWLEDGE)]
    sero_rows = [{"name": cql_str(n), "matchName": cql_str(norm_name(n))}
                 for n in serotonergic_names(rules, set(ad_names))]
    fam_rows = []
    for c in codes:
        if c["system"] != ICD10 or ("*" not in c["code"] and "-" not in c["code"]):
            continue
        for prefix in icd_prefixes(c["code"]):
            fam_rows.append({"concept": cql_str(c["concept"]), "prefix": cql_str(prefix)})

    return f"""// GENERATED by cql/tools/gen_knowledge.py from the knowledge tables
// (antidepressants.csv, antidepressant_products.csv, augmentation_agents.csv,
// interacting_drugs.csv, codes.csv, safety_rules.csv; the project's dose_units.csv and
// serotonin_syndrome_exceptions.csv, renal_dosing.csv). Do not edit
// by hand.
library AntidepressantData version '1.0.0'

// Antidepressant ingredients (RxNorm IN): class, minimum adequate and usual maximum mg/day;
// serotonergic (for the MAOI rules); washoutDays = days to wait after stopping the drug before
// an MAOI may start (safety_rules.csv maoi-washout; MAOIs themselves: 14 days).
define "Antidepressants":
  {tuples(ad_rows)}

// Product-level (SCD) RxNorm codes: the antidepressant ingredient, and the strength of one
// unit (tablet, capsule, mL of solution, or mg per hour of a transdermal system) when the
// first component is that antidepressant. Packs have no single strength.
define "Antidepressant Products":
  {tuples(prod_rows)}

// Augmentation components of combination products (olanzapine/fluoxetine).
define "Augmentation Products":
  {tuples(prod_aug_rows)}

// Augmentation and next-step agents (augmentation_agents.csv); rxcui null for U rows, which
// are matched by name only.
define "Augmentation Agents":
  {tuples(aug_rows)}

// CYP inducers that lower antidepressant levels (interacting_drugs.csv).
define "Interacting Drugs":
  {tuples(inter_rows)}

// Serotonergic drugs other than antidepressants (MAOI and serotonergic-combination rules),
// matched by name: none of them has a code in the tables.
define "Other Serotonergic Drugs":
  {tuples(sero_rows)}

// Serotonergic drugs that do not form a serotonin-syndrome pair (the project's
// serotonin_syndrome_exceptions.csv): the serotonergic-combination rule skips these pairs; the
// MAOI rules do not (bupropion with an MAOI stays forbidden).
define "Serotonin Syndrome Exceptions":
  {tuples(exception_rows)}

// Antidepressant dose advice with severe renal impairment (the project's renal_dosing.csv,
// from the labels): avoid, limit to maxDailyMg, or reduce as the advice says. Lithium has its
// own rule (lithium-monitoring).
define "Renal Dosing":
  {tuples(renal_rows)}

// The forms of a dose unit EHRs send (cql/knowledge/dose_units.csv): a mass (mgPerUnit mg in
// one unit), a volume (mL: needs a per-mL strength) or one unit of the product (a tablet,
// capsule, patch, actuation: needs the product's strength). system "text" matches the unit's
// text, lower case and trimmed.
define "Dose Units":
  {tuples(unit_rows)}

// ICD-10-CM code families of codes.csv (a trailing * or a range), as dot-less prefixes.
define "ICD10 Families":
  {tuples(fam_rows)}
"""


def icd_prefixes(code: str) -> list[str]:
    """Dot-less prefixes, as the CQL compares dot-less codes:
    'F32.*' -> ['F32']; 'F50.0*' -> ['F500']; 'F20.*-F29.*' -> ['F20', ..., 'F29']."""
    if "-" in code:
        lo, hi = (c.rstrip("*").rstrip(".") for c in code.split("-"))
        letter, a, b = lo[0], int(lo[1:]), int(hi[1:])
        return [f"{letter}{n:02d}" for n in range(a, b + 1)]
    return [code.rstrip("*").replace(".", "")]


def valueset(vid: str, title: str, includes: dict[str, list[tuple[str, str, str]]],
             filters: list[tuple[str, str]] | None = None, description: str = "") -> dict[str, Any]:
    compose: list[dict[str, Any]] = []
    contains: list[dict[str, Any]] = []
    for system, concepts in includes.items():
        if not concepts:
            continue
        entries = []
        for code, display, confidence in concepts:
            entry: dict[str, Any] = {"code": code, "display": display}
            if confidence == "U":
                entry["designation"] = [{"value": "unverified code: matched by name, never alone"}]
            entries.append(entry)
            contains.append({"system": system, "code": code, "display": display})
        compose.append({"system": system, "concept": entries})
    for system, prefix in filters or []:
        compose.append({"system": system,
                        "filter": [{"property": "concept", "op": "is-a", "value": prefix}]})
    vs: dict[str, Any] = {
        "resourceType": "ValueSet",
        "id": vid,
        "url": BASE + vid,
        "version": VS_VERSION,
        "name": "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", vid)),
        "title": title,
        "status": "active",
        "description": description or title,
        "compose": {"include": compose},
        "expansion": {
            "identifier": f"urn:trd-cds:expansion:{vid}:{VS_VERSION}",
            "timestamp": "2026-01-01T00:00:00Z",
            "total": len(contains),
            "contains": contains,
        },
    }
    if vid in VSAC_OIDS:
        vs["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:" + VSAC_OIDS[vid]}]
    return vs


def gen_valuesets() -> dict[str, dict[str, Any]]:
    ads = read("antidepressants.csv")
    products = read("antidepressant_products.csv")
    aug = read("augmentation_agents.csv")
    inter = read("interacting_drugs.csv")
    # The project's additions to codes.csv, each with its reason (cql/knowledge).
    codes = read("codes.csv") + read("codes_supplement.csv", PROJECT_KNOWLEDGE)
    ad_class = {a["ingredient"]: a["class"] for a in ads}
    out: dict[str, dict[str, Any]] = {}

    classes = sorted({a["class"] for a in ads})
    all_meds: list[tuple[str, str, str]] = []
    for cls in classes:
        meds = [(a["rxcui"], a["ingredient"], a["confidence"]) for a in ads if a["class"] == cls]
        meds += [(p["rxcui"], p["display"], "V") for p in products
                 if any(ad_class.get(i) == cls for i in p["ingredients"].split(";"))]
        all_meds += meds
        vid = "antidepressant-" + cls.lower()
        out[vid] = valueset(vid, f"Antidepressants, class {cls} (ingredients and products)",
                            {RXNORM: meds})
    seen: set[str] = set()
    unique = [m for m in all_meds if not (m[0] in seen or seen.add(m[0]))]  # type: ignore[func-returns-value]
    out["antidepressant-medication"] = valueset(
        "antidepressant-medication", "Antidepressant medications (ingredients and products)",
        {RXNORM: unique})
    out["augmentation-agents"] = valueset(
        "augmentation-agents", "Augmentation and next-step agents for depression",
        {RXNORM: [(a["rxcui"], a["agent"], a["confidence"]) for a in aug if a["rxcui"]]},
        description="Augmentation agents of augmentation_agents.csv. Liothyronine has no "
                    "verified code: it is matched by name.")
    out["interacting-drugs"] = valueset(
        "interacting-drugs", "CYP inducers lowering antidepressant levels",
        {RXNORM: [(i["rxcui"], i["ingredient"], i["confidence"]) for i in inter if i["rxcui"]]},
        description="St John's wort has no verified code: it is matched by name.")

    concepts: dict[str, list[dict[str, str]]] = {}
    for c in codes:
        concepts.setdefault(c["concept"], []).append(c)
    groups = {
        "blood-pressure": ["systolic-bp", "diastolic-bp"],
        "psychotherapy": ["psychotherapy-cbt", "psychotherapy-ipt"],
    }
    for vid, members in groups.items():
        concepts[vid] = [r for m in members for r in concepts[m]]
    for concept, rows in concepts.items():
        includes: dict[str, list[tuple[str, str, str]]] = {}
        filters: list[tuple[str, str]] = []
        for r in rows:
            if r["system"] == ICD10 and ("*" in r["code"] or "-" in r["code"]):
                filters += [(ICD10, p[:3] + ("." + p[3:] if len(p) > 3 else "")
                             if "." not in p else p) for p in icd_prefixes(r["code"])]
                continue
            includes.setdefault(r["system"], []).append((r["code"], r["display"], r["confidence"]))
        title = rows[0]["display"] if len(rows) == 1 else concept.replace("-", " ").capitalize()
        desc = title
        if filters:
            desc += (". ICD-10-CM families are given as is-a filters and matched in the CQL by "
                     "prefix of the dot-less code: " + ", ".join(p for _, p in filters))
        out[concept] = valueset(concept, title, includes, filters, desc)
    return out


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail when generated files are stale")
    args = ap.parse_args()
    files = {CQL_DIR / "AntidepressantData.cql": gen_cql()}
    for vid, vs in gen_valuesets().items():
        files[CQL_DIR / "valuesets" / f"{vid}.json"] = dump(vs)
    stale = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
    if args.check:
        for p in stale:
            print(f"stale: {p.relative_to(CHECKOUT)}", file=sys.stderr)
        return 1 if stale else 0
    (CQL_DIR / "valuesets").mkdir(exist_ok=True)
    for p in stale:
        p.write_text(files[p], "utf-8")
    print(f"{len(files)} files, {len(stale)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
