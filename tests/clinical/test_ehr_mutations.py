"""Property: the example bundles, mutated the way real EHRs send the same facts, through
`POST /evaluate` with the real rules and card builder.

- Every mutation is valid input: never a 4xx or 5xx.
- Meaning-preserving mutations (other forms of the same dose unit, a Medication resource
  instead of a CodeableConcept, timing codes and words, empty elements, extensions,
  narrative, meta, key and entry order, dateTimes with a time and an offset) give the same
  assessment (all but `dataQuality`, which may gain findings) and the same cards.
- Meaning-changing mutations are read conservatively: a start or end known only to the month
  keeps the trial, flags it `date-imprecise` and never makes it longer, adequate or failed;
  TRD is never met because of one. A birth date known only to the year or month never removes
  a safety rule that fired.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from conftest import running_app
from trd_cds.app import create_app
from trd_cds.assessment import OrderCheck
from trd_cds.cards import build_cards
from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import TrdRules
from trd_cds.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "fhir_examples"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text("utf-8"))
AS_OF = date.fromisoformat(MANIFEST["asOf"])
NAMES = sorted(MANIFEST["examples"])
BUNDLES: dict[str, dict[str, Any]] = {
    name: json.loads((EXAMPLES / entry["bundle"]).read_text("utf-8"))
    for name, entry in MANIFEST["examples"].items()
}

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
DRUG_FORM = "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
MEDICATION_RECORDS = ("MedicationStatement", "MedicationRequest", "MedicationDispense")
# Strengths of the product codes the examples use (antidepressant_products.csv), to write a
# dose in tablets as the same dose in mg.
PRODUCT_MG = {"312941": 50, "313584": 37.5, "596934": 60}

# Reproducible in CI: the same examples every run, nothing read from or written to a database.
# About 40 ms per request with the real rules; the whole file stays well under a minute.
PROFILE = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

# A budget no loaded machine reaches (these tests are about answers, not timeouts), and a
# cache too small to hold any assessment: every request is evaluated by the rules, so a
# mutation the cache key ignores (entry order, key order) is not answered from the cache.
SERVICE = Settings(evaluation_timeout_seconds=60, cache_max_bytes=1024)

Post = Callable[[dict[str, Any]], httpx.Response]


class CountedRules:
    """The real rules, counting assessments: each request must reach them."""

    def __init__(self) -> None:
        self.rules = TrdRules.load()
        self.ruleset_version = self.rules.ruleset_version
        self.assessments = 0

    def assess(self, patient: PatientData, as_of: date) -> dict[str, Any]:
        self.assessments += 1
        return self.rules.assess(patient, as_of)

    def check_orders(self, patient: PatientData, as_of: date,
                     draft_orders: list[dict[str, Any]]) -> OrderCheck:
        return self.rules.check_orders(patient, as_of, draft_orders)


@pytest.fixture(scope="module")
def post() -> Iterator[Post]:
    """POST a Bundle to /evaluate of one app (real rules and cards), run on its own loop."""
    rules = CountedRules()
    app = create_app(SERVICE, rules=rules, card_builder=build_cards)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    context = running_app(app)
    client = asyncio.run_coroutine_threadsafe(context.__aenter__(), loop).result(timeout=60)

    def send(bundle: dict[str, Any]) -> httpx.Response:
        request = client.post(f"/evaluate?asOf={AS_OF.isoformat()}", content=orjson.dumps(bundle),
                              headers={"content-type": "application/fhir+json"})
        before = rules.assessments
        response: httpx.Response = asyncio.run_coroutine_threadsafe(request, loop).result(120)
        assert response.status_code != 200 or rules.assessments == before + 1, "not evaluated"
        return response

    try:
        yield send
    finally:
        asyncio.run_coroutine_threadsafe(context.__aexit__(None, None, None), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture(scope="module")
def baseline(post: Post) -> Callable[[str], dict[str, Any]]:
    """The answer to each unmutated example (computed once)."""
    answers: dict[str, dict[str, Any]] = {}

    def of(name: str) -> dict[str, Any]:
        if name not in answers:
            answers[name] = answered(post(BUNDLES[name]))
        return answers[name]

    return of


def answered(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["assessment"]["evaluationDate"] == AS_OF.isoformat()
    return body


def comparable(answer: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The assessment without dataQuality, and the cards a clinician reads (the integrators'
    data-quality card follows dataQuality)."""
    assessment = {k: v for k, v in answer["assessment"].items() if k != "dataQuality"}
    cards = [(c["summary"], c["indicator"]) for c in answer["cards"]
             if c["source"].get("topic", {}).get("code") != "data-quality"]
    return assessment, cards


# ------------------------------------------------------------------------------- walking
def resources(bundle: dict[str, Any], *types: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]
            if not types or e["resource"]["resourceType"] in types]


def dosages(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found = resource.get("dosage") or resource.get("dosageInstruction") or []
    return [d for d in found if isinstance(d, dict)]


def dose_quantities(bundle: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(record, doseAndRate item) of every dose in mg or in units of the product."""
    out = []
    for r in resources(bundle, *MEDICATION_RECORDS):
        for d in dosages(r):
            for item in d.get("doseAndRate") or []:
                if isinstance(item, dict) and isinstance(item.get("doseQuantity"), dict):
                    out.append((r, item))
    return out


def product_code(record: dict[str, Any], bundle: dict[str, Any]) -> str | None:
    concept = record.get("medicationCodeableConcept")
    if concept is None:
        ref = (record.get("medicationReference") or {}).get("reference", "")
        for m in record.get("contained") or []:
            if "#" + str(m.get("id")) == ref:
                concept = m.get("code")
        for m in resources(bundle, "Medication"):
            if ref.endswith("Medication/" + str(m.get("id"))):
                concept = m.get("code")
    for coding in (concept or {}).get("coding") or []:
        if coding.get("system") == RXNORM and coding.get("code") in PRODUCT_MG:
            return str(coding["code"])
    return None


# --------------------------------------------------------------------- meaning-preserving
MG_FORMS: list[dict[str, Any]] = [
    {"unit": "mg", "system": UCUM, "code": "mg"},
    {"unit": "milligram", "system": SNOMED, "code": "258684004"},
    {"unit": "mg", "system": SNOMED, "code": "258684004"},
    {"unit": "milligram"},
    {"unit": "milligrams"},
    {"unit": "mg"},
    {"unit": "MG"},
    {"unit": " mg "},
    {"code": "mg", "system": UCUM},
]
OTHER_MASS_FORMS: list[tuple[dict[str, Any], Decimal]] = [
    ({"unit": "g", "system": UCUM, "code": "g"}, Decimal("0.001")),
    ({"unit": "gram", "system": SNOMED, "code": "258682000"}, Decimal("0.001")),
    ({"unit": "grams"}, Decimal("0.001")),
    ({"unit": "ug", "system": UCUM, "code": "ug"}, Decimal(1000)),
    ({"unit": "microgram", "system": SNOMED, "code": "258685003"}, Decimal(1000)),
    ({"unit": "mcg"}, Decimal(1000)),
]
TABLET_FORMS: list[dict[str, Any]] = [
    {"unit": "tablet", "system": DRUG_FORM, "code": "TAB"},
    {"unit": "{tbl}", "system": UCUM, "code": "{tbl}"},
    {"unit": "tablet", "system": UCUM, "code": "{tablet}"},
    {"unit": "Tablet", "system": SNOMED, "code": "732936001"},
    {"unit": "tablet", "system": SNOMED, "code": "428673006"},
    {"unit": "tablet(s)"},
    {"unit": "Tablets"},
    {"unit": "tab"},
]
CAPSULE_FORMS: list[dict[str, Any]] = [
    {"unit": "capsule", "system": DRUG_FORM, "code": "CAP"},
    {"unit": "{capsule}", "system": UCUM, "code": "{capsule}"},
    {"unit": "capsule", "system": UCUM, "code": "{cap}"},
    {"unit": "Capsule", "system": SNOMED, "code": "732937005"},
    {"unit": "capsule(s)"},
    {"unit": "Capsules"},
]


def unit_kind(quantity: dict[str, Any]) -> str:
    words = f"{quantity.get('unit', '')} {quantity.get('code', '')}".lower()
    if "cap" in words or "732937005" in words:
        return "capsule"
    if "tab" in words or "tbl" in words or "732936001" in words or "428673006" in words:
        return "tablet"
    return "mg"


def m_unit_form(draw: st.DrawFn, bundle: dict[str, Any]) -> str | None:
    """The same dose with another form of its unit (for tablets or capsules of a product
    code: another form of that presentation, or the same amount in mg)."""
    sites = dose_quantities(bundle)
    if not sites:
        return None
    record, item = draw(st.sampled_from(sites))
    quantity = item["doseQuantity"]
    kind = unit_kind(quantity)
    if any(quantity.get(k) == form.get(k) for form, _ in OTHER_MASS_FORMS for k in ("unit", "code")
           if k in form):
        return None  # already changed to grams or micrograms
    value = quantity["value"]
    if kind == "mg" and draw(st.integers(0, 3)) == 0:
        # The same mass in grams or micrograms (a decimal of the JSON, read exactly).
        unit, per_mg = draw(st.sampled_from(OTHER_MASS_FORMS))
        value = float(Decimal(str(value)) * per_mg)
        form = dict(unit)
    elif kind == "mg":
        form = draw(st.sampled_from(MG_FORMS))
    else:
        code = product_code(record, bundle)
        forms = TABLET_FORMS if kind == "tablet" else CAPSULE_FORMS
        if code is not None and draw(st.booleans()):
            value = value * PRODUCT_MG[code]
            form = draw(st.sampled_from(MG_FORMS))
        else:
            form = draw(st.sampled_from(forms))
    item["doseQuantity"] = {"value": value, **form}
    return f"{record['id']}: doseQuantity {quantity} -> {item['doseQuantity']}"


def m_medication_resource(draw: st.DrawFn, bundle: dict[str, Any]) -> str | None:
    """medicationCodeableConcept -> a contained Medication, or a Medication of the Bundle."""
    sites = [r for r in resources(bundle, *MEDICATION_RECORDS) if "medicationCodeableConcept" in r]
    if not sites:
        return None
    record = draw(st.sampled_from(sites))
    concept = record.pop("medicationCodeableConcept")
    medication_id = f"med-{record['id']}"
    medication: dict[str, Any] = {"resourceType": "Medication", "id": medication_id,
                                  "code": concept}
    how = draw(st.sampled_from(["contained", "relative", "absolute"]))
    if how == "contained":
        medication["id"] = "m1"
        record.setdefault("contained", []).append(medication)
        reference = "#m1"
    else:
        bundle["entry"].append({"fullUrl": f"urn:uuid:{medication_id}", "resource": medication})
        base = "https://ehr.example.org/fhir/" if how == "absolute" else ""
        reference = f"{base}Medication/{medication_id}"
    record["medicationReference"] = {"reference": reference}
    if draw(st.booleans()) and concept.get("text"):
        record["medicationReference"]["display"] = concept["text"]
    return f"{record['id']}: medicationCodeableConcept -> {how} Medication ({reference})"


TIMINGS: dict[int, list[dict[str, Any] | None]] = {
    1: [None, {"code": {"coding": [{"system": GTS, "code": "QD"}]}},
        {"code": {"text": "once daily"}}, {"code": {"text": "Once a day"}},
        {"code": {"coding": [{"code": "QD"}], "text": "daily"}},
        {"repeat": {"frequency": 1, "period": 24, "periodUnit": "h"}},
        {"repeat": {"frequency": 7, "period": 1, "periodUnit": "wk"}},
        {"repeat": {"period": 1, "periodUnit": "d"}}],
    2: [{"code": {"coding": [{"system": GTS, "code": "BID"}]}},
        {"code": {"coding": [{"code": "BID"}]}}, {"code": {"text": "twice daily"}},
        {"code": {"text": "Twice a day"}}, {"code": {"text": "BID"}},
        {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}},
        {"repeat": {"frequency": 2, "period": 24, "periodUnit": "h"}},
        {"repeat": {"frequency": 14, "period": 1, "periodUnit": "wk"}}],
    3: [{"code": {"coding": [{"system": GTS, "code": "TID"}]}},
        {"code": {"coding": [{"system": GTS, "code": "Q8H"}]}},
        {"code": {"text": "three times daily"}}, {"code": {"text": "TID"}},
        {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}},
        {"repeat": {"frequency": 21, "period": 1, "periodUnit": "wk"}}],
}


def m_timing(draw: st.DrawFn, bundle: dict[str, Any]) -> str | None:
    """timing.repeat n a day <-> a GTS code, its words, another period; once a day <-> none."""
    sites = []
    for r in resources(bundle, *MEDICATION_RECORDS):
        for d in dosages(r):
            repeat = (d.get("timing") or {}).get("repeat") or {}
            if (set(d.get("timing") or {}) == {"repeat"}
                    and set(repeat) == {"frequency", "period", "periodUnit"}
                    and repeat["period"] == 1 and repeat["periodUnit"] == "d"
                    and repeat["frequency"] in TIMINGS):
                sites.append((r, d))
    if not sites:
        return None
    record, dosage = draw(st.sampled_from(sites))
    before = dosage.pop("timing")
    after = draw(st.sampled_from(TIMINGS[before["repeat"]["frequency"]]))
    if after is not None:
        dosage["timing"] = copy.deepcopy(after)
    return f"{record['id']}: timing {before} -> {after}"


def _any_resource(draw: st.DrawFn, bundle: dict[str, Any]) -> dict[str, Any]:
    return draw(st.sampled_from(resources(bundle)))


# Empty elements, valid for the types they are added to (dropped and reported; never read).
EMPTY_ANYWHERE: list[tuple[str, Any]] = [
    ("extension", []), ("modifierExtension", []), ("text", {}), ("meta", {}),
    ("language", ""), ("implicitRules", ""), ("contained", []), ("identifier", [{"value": ""}]),
]
EMPTY_BY_TYPE: dict[str, list[tuple[str, Any]]] = {
    "MedicationStatement": [("note", []), ("reasonCode", []), ("statusReason", []),
                            ("category", {}), ("derivedFrom", []), ("reasonReference", [{}])],
    "MedicationRequest": [("note", []), ("reasonCode", []), ("supportingInformation", []),
                          ("insurance", [])],
    "MedicationDispense": [("note", []), ("partOf", []), ("performer", [])],
    "Observation": [("note", []), ("interpretation", []), ("method", {"text": ""})],
    "Condition": [("note", []), ("evidence", []), ("bodySite", [])],
    "Procedure": [("note", []), ("reasonCode", []), ("bodySite", [])],
    "Patient": [("telecom", []), ("address", [{}]), ("name", [{"given": [""]}])],
    "Medication": [("batch", {}), ("form", {"coding": []})],
}
EMPTY_IN_DOSAGE: list[tuple[str, Any]] = [
    ("additionalInstruction", []), ("patientInstruction", ""), ("route", {}), ("method", {}),
    ("site", {"text": ""}), ("extension", []),
]


def m_empty(draw: st.DrawFn, bundle: dict[str, Any]) -> str | None:
    """An empty element (FHIR forbids them; EHRs send them) on a resource or a dosage line,
    an empty item appended to a list, or an empty string on an element nobody reads."""
    where = draw(st.sampled_from(["resource", "dosage", "doseAndRate", "coding"]))
    if where == "resource":
        resource = _any_resource(draw, bundle)
        options = [(k, v) for k, v in [*EMPTY_ANYWHERE, *EMPTY_BY_TYPE.get(
            resource["resourceType"], [])] if k not in resource]
        if not options:
            return None
        key, value = draw(st.sampled_from(options))
        resource[key] = copy.deepcopy(value)
        return f"{resource['resourceType']}/{resource['id']}.{key} = {value!r}"
    lines = [(r, d) for r in resources(bundle, *MEDICATION_RECORDS) for d in dosages(r)]
    if where == "dosage" and lines:
        record, dosage = draw(st.sampled_from(lines))
        options = [(k, v) for k, v in EMPTY_IN_DOSAGE if k not in dosage]
        if not options:
            return None
        key, value = draw(st.sampled_from(options))
        dosage[key] = copy.deepcopy(value)
        return f"{record['id']}: dosage.{key} = {value!r}"
    if where == "doseAndRate" and lines:
        record, dosage = draw(st.sampled_from(lines))
        if "doseAndRate" not in dosage:
            return None
        extra: dict[str, Any] = draw(st.sampled_from([{}, {"type": {}}, {"doseQuantity": {}}]))
        dosage["doseAndRate"].append(extra)
        return f"{record['id']}: doseAndRate += {extra!r}"
    if where == "coding":
        concepts = [(r, c) for r in resources(bundle) for c in (r.get("code"),
                    r.get("medicationCodeableConcept")) if isinstance(c, dict)]
        if not concepts:
            return None
        resource, concept = draw(st.sampled_from(concepts))
        extra = draw(st.sampled_from([{}, {"system": "", "code": ""}, {"display": ""}]))
        concept.setdefault("coding", []).append(extra)
        return f"{resource['id']}: coding += {extra!r}"
    return None


def m_empty_entry(draw: st.DrawFn, bundle: dict[str, Any]) -> str | None:
    """An empty element of a Bundle entry, beside its resource: not patient data, so neither
    read nor reported."""
    entry = draw(st.sampled_from(bundle["entry"]))
    key, value = draw(st.sampled_from([("search", {}), ("request", {}), ("link", []),
                                       ("response", {}), ("fullUrl", "")]))
    if key in entry:
        return None
    entry[key] = copy.deepcopy(value)
    return f"entry of {entry['resource']['id']}: {key} = {value!r}"


EXTENSION = {"url": "http://example.org/x", "valueString": "y"}
NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}


def m_decoration(draw: st.DrawFn, bundle: dict[str, Any]) -> str | None:
    """What EHRs add that the rules do not read: extensions (on a resource, a dosage line, a
    quantity, a concept, a primitive), narrative, meta."""
    resource = _any_resource(draw, bundle)
    what = draw(st.sampled_from(["extension", "narrative", "meta", "nested-extension",
                                 "primitive-extension"]))
    if what == "extension":
        resource.setdefault("extension", []).append(dict(EXTENSION))
    elif what == "narrative":
        if "text" in resource:
            return None
        resource["text"] = dict(NARRATIVE)
    elif what == "meta":
        resource["meta"] = {"versionId": "3", "lastUpdated": "2025-05-30T08:15:00.000+00:00",
                            "source": "#ehr",
                            "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/x"]}
    elif what == "nested-extension":
        holders = [d for d in dosages(resource)]
        holders += [i["doseQuantity"] for d in holders for i in d.get("doseAndRate") or []
                    if isinstance(i, dict) and isinstance(i.get("doseQuantity"), dict)]
        holders += [c for c in (resource.get("code"), resource.get("medicationCodeableConcept"))
                    if isinstance(c, dict)]
        if not holders:
            return None
        holder = draw(st.sampled_from(holders))
        holder.setdefault("extension", []).append(dict(EXTENSION))
        return f"{resource['id']}: extension on {sorted(holder)}"
    else:
        primitives = [k for k, v in resource.items()
                      if isinstance(v, str) and k not in ("resourceType", "id")]
        if not primitives:
            return None
        key = draw(st.sampled_from(primitives))
        resource[f"_{key}"] = {"extension": [dict(EXTENSION)]}
        return f"{resource['id']}: _{key} extension"
    return f"{resource['resourceType']}/{resource['id']}: {what}"


DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME_KEYS = {"effectiveDateTime", "authoredOn", "whenHandedOver", "whenPrepared",
                 "onsetDateTime", "recordedDate", "dateAsserted", "performedDateTime",
                 "abatementDateTime"}
PERIOD_KEYS = {"effectivePeriod", "performedPeriod", "validityPeriod", "onsetPeriod",
               "abatementPeriod", "boundsPeriod"}


def datetime_sites(value: Any, out: list[tuple[dict[str, Any], str]] | None = None,
                   period: bool = False) -> list[tuple[dict[str, Any], str]]:
    """(holder, key) of every FHIR dateTime element holding a full date."""
    out = [] if out is None else out
    if isinstance(value, dict):
        for key, child in value.items():
            if (isinstance(child, str) and DATE.fullmatch(child)
                    and (key in DATETIME_KEYS or (period and key in ("start", "end")))):
                out.append((value, key))
            elif isinstance(child, dict | list):
                datetime_sites(child, out, key in PERIOD_KEYS)
    elif isinstance(value, list):
        for child in value:
            datetime_sites(child, out)
    return out


# A time of day and an offset. The rules read the day of a dateTime with `date from`, which
# the engine takes in the value's own offset (temporal.DateTime.to_date keeps the components
# as written), so the day recorded is the day read whatever the offset: "2024-06-01T23:30:00-
# 05:00" is 1 June, although it is 2 June in UTC (the evaluation's offset). Offsets that move
# the day in UTC are generated on purpose, to hold the rules to that reading.
TIMES = st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 59]), st.integers(0, 59),
                  st.sampled_from(["", ".000", ".5", ".123456"]))
OFFSETS = st.one_of(st.sampled_from(["Z", "+00:00", "-00:00", "+14:00", "-12:00"]), st.builds(
    lambda h, m: f"{'+' if h >= 0 else '-'}{abs(h):02d}:{m:02d}",
    st.integers(-11, 13), st.sampled_from([0, 30, 45])))  # FHIR: up to 14:00 either way


def m_datetime(draw: st.DrawFn, bundle: dict[str, Any]) -> str | None:
    """A full date of a dateTime element -> the same day with a time and an offset."""
    sites = [s for r in resources(bundle) for s in datetime_sites(r)]
    if not sites:
        return None
    holder, key = draw(st.sampled_from(sites))
    h, m, s, fraction = draw(TIMES)
    before = holder[key]
    holder[key] = f"{before}T{h:02d}:{m:02d}:{s:02d}{fraction}{draw(OFFSETS)}"
    return f"{key}: {before} -> {holder[key]}"


def m_key_order(draw: st.DrawFn, bundle: dict[str, Any]) -> str | None:
    """The keys of a resource in another order (JSON objects are unordered)."""
    resource = _any_resource(draw, bundle)
    keys = draw(st.permutations(list(resource)))
    reordered = {k: resource[k] for k in keys}
    resource.clear()
    resource.update(reordered)
    return f"{resource['id']}: keys {keys}"


PRESERVING = [m_unit_form, m_medication_resource, m_timing, m_empty, m_empty_entry,
              m_decoration, m_datetime, m_key_order]
ADDS_EMPTY = {m_empty}


@st.composite
def preserving_mutations(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[str], bool]:
    """An example, mutated by one to five meaning-preserving changes, perhaps its entries
    reordered; the descriptions of the changes; whether one added an empty element."""
    name = draw(st.sampled_from(NAMES))
    bundle = copy.deepcopy(BUNDLES[name])
    done: list[str] = []
    empty = False
    chosen = draw(st.lists(st.sampled_from(PRESERVING), min_size=1, max_size=5))
    # Empty elements last, so that no other change fills one in.
    for mutation in sorted(chosen, key=lambda m: m in ADDS_EMPTY):
        described = mutation(draw, bundle)
        if described is not None:
            done.append(f"{mutation.__name__}: {described}")
            empty |= mutation in ADDS_EMPTY
    if draw(st.booleans()):
        bundle["entry"] = draw(st.permutations(bundle["entry"]))
        done.append("entries reordered: " + ", ".join(e["resource"]["id"] for e in bundle["entry"]))
    return name, bundle, done, empty


@settings(max_examples=600, **PROFILE)  # type: ignore[arg-type]
@given(case=preserving_mutations())
def test_meaning_preserving_mutations_give_the_same_assessment_and_cards(
    post: Post, baseline: Callable[[str], dict[str, Any]],
    case: tuple[str, dict[str, Any], list[str], bool],
) -> None:
    name, bundle, done, empty = case
    note(f"{name}: " + "; ".join(done))
    expected = baseline(name)
    got = answered(post(bundle))
    assert comparable(got) == comparable(expected)
    findings = got["assessment"]["dataQuality"]
    for finding in expected["assessment"]["dataQuality"]:
        assert finding in findings
    if empty:
        assert any(f["issue"] == "empty-element" and f["effect"] == "dropped" for f in findings)
        assert got["issues"]["resourceType"] == "OperationOutcome"


# ----------------------------------------------------------------------- meaning-changing
RECORD_DATES = {"MedicationStatement": [("effectivePeriod", "start"), ("effectivePeriod", "end")],
                "MedicationRequest": [(None, "authoredOn")]}


def date_sites(bundle: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """(record id, period or None, key) of every full start or end date of a medication record."""
    return [(r["id"], period, key)
            for r in resources(bundle, *RECORD_DATES)
            for period, key in RECORD_DATES[r["resourceType"]]
            if DATE.fullmatch(str((r.get(period) or {}) .get(key) if period else r.get(key)))]


def medication_words(record: dict[str, Any], bundle: dict[str, Any]) -> str:
    """The words naming a record's medication, in lower case (its text, displays)."""
    concepts = [record.get("medicationCodeableConcept") or {}]
    ref = str((record.get("medicationReference") or {}).get("reference", ""))
    concepts += [m.get("code") or {} for m in [*record.get("contained", []),
                                              *resources(bundle, "Medication")]
                 if ref in ("#" + str(m.get("id")), "Medication/" + str(m.get("id")))]
    return " ".join([str(c.get("text", "")) for c in concepts]
                    + [str(x.get("display", "")) for c in concepts for x in c.get("coding", [])]).lower()


@st.composite
def partial_record_dates(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[tuple[str, str]]]:
    """An example whose medication records have one to three starts or ends cut to the month
    ("2024-06-01" -> "2024-06"); the (record id, element) changed."""
    name = draw(st.sampled_from([n for n in NAMES if date_sites(BUNDLES[n])]))
    bundle = copy.deepcopy(BUNDLES[name])
    chosen = draw(st.lists(st.sampled_from(date_sites(bundle)), min_size=1, max_size=3,
                           unique=True))
    by_id = {r["id"]: r for r in resources(bundle)}
    changed = []
    for record_id, period, key in chosen:
        holder = by_id[record_id][period] if period else by_id[record_id]
        holder[key] = holder[key][:7]
        changed.append((record_id, f"{period}.{key}" if period else key))
    return name, bundle, changed


def span(trial: dict[str, Any]) -> int:
    return (date.fromisoformat(trial["end"]) - date.fromisoformat(trial["start"])).days + 1


def by_ingredient(trials: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for t in trials:
        out.setdefault(t["ingredient"], []).append(t)
    return out


@settings(max_examples=300, **PROFILE)  # type: ignore[arg-type]
@given(case=partial_record_dates())
def test_dates_known_to_the_month_keep_the_trial_and_never_claim_more(
    post: Post, baseline: Callable[[str], dict[str, Any]],
    case: tuple[str, dict[str, Any], list[tuple[str, str]]],
) -> None:
    name, bundle, changed = case
    note(f"{name}: month only: {changed}")
    before = baseline(name)["assessment"]
    after = answered(post(bundle))["assessment"]
    was, now = by_ingredient(before["trials"]), by_ingredient(after["trials"])
    # No trial is lost (a cut can only shorten one, or split it at a longer gap).
    assert set(now) >= set(was)
    records = {r["id"]: r for r in resources(bundle)}
    for record_id, element in changed:
        # A record of a trial's ingredient (not an augmentation agent or another drug, whose
        # partial dates DataQuality.cql does not report): flagged and reported.
        words = medication_words(records[record_id], bundle)
        for ingredient in [i for i in was if re.search(rf"\b{i}\b", words)]:
            assert any("date-imprecise" in t["flags"] for t in now[ingredient]), ingredient
            kind = records[record_id]["resourceType"]
            assert {"resource": f"{kind}/{record_id}", "path": f"{kind}.{element}",
                    "issue": "partial-date", "effect": "read-conservatively"} in after["dataQuality"]
    for ingredient, trials in now.items():
        old = was.get(ingredient, [])
        # Never longer: no earlier start, no longer span, never more days at dose.
        if old:
            assert min(t["start"] for t in trials) >= min(t["start"] for t in old)
            assert max(map(span, trials)) <= max(map(span, old)), (ingredient, trials, old)
            days = [t["daysAtAdequateDose"] for t in old if t["daysAtAdequateDose"] is not None]
            for t in trials:
                if t["daysAtAdequateDose"] is not None and days:
                    assert t["daysAtAdequateDose"] <= max(days), (ingredient, t, old)
        for flag in ("adequate", "failed"):
            if any(t[flag] for t in trials):
                assert any(t[flag] for t in old), (ingredient, flag, trials, old)
    assert not (before["trdStatus"] == "not-met" and after["trdStatus"] == "met")
    assert set(after["failedClasses"]) <= set(before["failedClasses"])


BIRTH_CUTS = {"year": 4, "month": 7}


@pytest.mark.parametrize("cut", sorted(BIRTH_CUTS))
@pytest.mark.parametrize("name", NAMES)
def test_a_birth_date_known_to_the_year_or_month_only_adds_safety_rules(
    post: Post, baseline: Callable[[str], dict[str, Any]], name: str, cut: str,
) -> None:
    """Every example (exhaustively, there are few): the age may be uncertain, so a rule of an
    age band fires when the patient may be in it; none that fired stops firing."""
    bundle = copy.deepcopy(BUNDLES[name])
    patient = resources(bundle, "Patient")[0]
    patient["birthDate"] = patient["birthDate"][:BIRTH_CUTS[cut]]
    before = baseline(name)["assessment"]
    after = answered(post(bundle))["assessment"]
    assert set(after["safety"]) >= set(before["safety"])
    assert [t["ingredient"] for t in after["trials"]] == [t["ingredient"] for t in before["trials"]]
    assert after["crisis"] == before["crisis"]
    assert any(f["resource"] == f"Patient/{patient['id']}" and f["path"] == "Patient.birthDate"
               and f["issue"] == "partial-date" for f in after["dataQuality"])
