"""The timeline page in headless Chromium, against the real rules: it renders every example,
its bars and PHQ-9 points are the assessment's, and a screenshot of each is kept in
test-artifacts/timeline/ (`make ensure-chromium` installs Debian's chromium and chromedriver)."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "fhir_examples"
ARTIFACTS = ROOT / "test-artifacts" / "timeline"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AS_OF = "2025-06-01"
FLAG_KINDS = {"low-dose", "too-short", "poor-adherence", "dose-unknown", "interacting-drug",
              "date-imprecise"}


def _day(iso: str) -> int:
    return (date.fromisoformat(iso) - date(1970, 1, 1)).days


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    from trd_cds.app import create_app
    from trd_cds.cards import build_cards
    from trd_cds.rules import TrdRules
    from trd_cds.settings import Settings

    app = create_app(Settings(env="development", evaluation_timeout_seconds=60, gc_freeze=False),
                     rules=TrdRules.load(), card_builder=build_cards)
    with ThreadedServer(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "headless Chromium is needed: make ensure-chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="trd-timeline-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _evaluate(service: str, bundle: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{service}/evaluate?asOf={AS_OF}", json=bundle, timeout=60,
                          headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _timeline_url(answer: dict[str, Any]) -> str:
    links = [link for card in answer["cards"] for link in card.get("links", [])
             if "/timeline/" in link["url"]]
    assert links, "no card links to the timeline"
    return str(links[0]["url"])


def _open(browser: Any, url: str, name: str) -> dict[str, Any]:
    """Loads the page, waits for it, keeps a full-page screenshot; the charts' data back."""
    browser.get("about:blank")  # another handle in the fragment alone would not reload it
    browser.get(url)
    deadline = time.monotonic() + 20
    while not browser.execute_script("return !!(window.trdTimeline && window.trdTimeline.ready)"):
        assert time.monotonic() < deadline, "the page did not finish rendering"
        time.sleep(0.05)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1400, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors  # CSP violations and script errors land here
    assert browser.execute_script(_CONTRAST) == []
    state: dict[str, Any] = browser.execute_script("""
        const t = window.trdTimeline;
        const sets = c => c.data.datasets.map(d => ({kind: d.trdKind, label: d.label,
            flag: d.trdFlag || null, trial: d.trdTrial || null,
            record: d.trdRecord || null, finding: d.trdFinding || null,
            points: d.data.map(p => ({x: p.x, y: p.y}))}));
        const drugs = {};
        for (const [name, chart] of Object.entries(t.drugCharts)) drugs[name] = sets(chart);
        return {error: t.error, drugs: drugs, phq9: t.phq9 ? sets(t.phq9) : null,
                procedures: t.procedures ? sets(t.procedures) : [],
                reasons: [...document.querySelectorAll('#trial-reasons li')].map(li => li.textContent),
                rows: document.querySelectorAll('#trial-table tbody tr').length,
                dq: document.querySelectorAll('#data-quality li.dq').length,
                title: document.title};
    """)
    assert state["error"] is None, state["error"]
    return state


# WCAG 2.1 AA: the contrast of every piece of text against what is behind it (1.4.3): 4.5:1,
# 3:1 for large text (24 px, or 18.66 px bold).
_CONTRAST = """
    const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => {
        v = v / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const alpha = c => { const p = c.match(/[\\d.]+/g); return p.length > 3 ? +p[3] : 1; };
    const behind = el => { for (let e = el; e; e = e.parentElement) {
        const bg = getComputedStyle(e).backgroundColor; if (alpha(bg) > 0) return bg; }
      return 'rgb(255, 255, 255)'; };
    const low = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (!own || el.offsetParent === null) continue;
      const style = getComputedStyle(el);
      const [a, b] = [lum(style.color), lum(behind(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(style.fontSize), bold = +style.fontWeight >= 700;
      const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      if (ratio < needed) low.push([el.tagName, el.textContent.slice(0, 40), ratio.toFixed(2)]);
    }
    return low;
"""


def _check_against(answer: dict[str, Any], page: dict[str, Any]) -> None:
    assessment = answer["assessment"]
    details = assessment["details"]
    timeline = details["timeline"]
    trials = assessment["trials"]
    # One chart per drug (each antidepressant, each augmenter).
    assert set(page["drugs"]) == ({t["ingredient"] for t in trials}
                                  | {a["agent"] for a in timeline["augmenters"]})
    for index, trial in enumerate(trials):
        sets = page["drugs"][trial["ingredient"]]
        mine = [s for s in sets if s["trial"] == trial["start"]]
        facts = details["trials"][index]
        # A bar per record of the trial, from its first day to the day after its last, at
        # its daily dose.
        records = [r for r in timeline["doseRecords"] if r["ingredient"] == trial["ingredient"]
                   and trial["start"] <= r["start"] <= trial["end"]]
        bars = sorted((s for s in mine if s["kind"] == "dose"),
                      key=lambda s: (s["points"][0]["x"], s["points"][1]["x"]))
        expected = sorted(records, key=lambda r: (_day(r["start"]), _day(r["end"])))
        assert len(bars) == len(expected) >= 1
        for bar, record in zip(bars, expected, strict=True):
            assert [p["x"] for p in bar["points"]] == [_day(record["start"]),
                                                      _day(record["end"]) + 1]
            if record["dailyDoseMg"] is not None:
                assert {p["y"] for p in bar["points"]} == {record["dailyDoseMg"]}
                assert bar["label"] == f"{record['dailyDoseMg']:g} mg/day"
            else:
                assert bar["label"] == "dose not recorded"
        # The adequate-dose line over the trial.
        lines = [s for s in mine if s["kind"] == "adequate"]
        assert [{p["y"] for p in s["points"]} for s in lines] == [{facts["minAdequateMg"]}]
        assert [p["x"] for p in lines[0]["points"]] == [_day(trial["start"]),
                                                       _day(trial["end"]) + 1]
        # Each adequacy flag of the trial, once.
        assert sorted(s["flag"] for s in mine if s["kind"] == "flag") == sorted(
            f for f in trial["flags"] if f in FLAG_KINDS)
    # PHQ-9: every total the rules read, the baseline and outcome points they used.
    phq9 = {s["kind"]: s for s in page["phq9"] if s["kind"] != "response"}
    assert [(p["x"], p["y"]) for p in phq9["phq9"]["points"]] == [
        (_day(p["takenOn"]), p["score"]) for p in timeline["phq9"]]
    for kind in ("baseline", "outcome"):
        assert [(p["x"], p["y"]) for p in phq9[kind]["points"]] == [
            (_day(f[f"{kind}Date"]), f[f"{kind}Score"]) for f in details["trials"]
            if f[f"{kind}Date"] is not None]
    assert {p["y"] for p in phq9["remission"]["points"]} == {timeline["remissionBelowScore"]}
    responses = [s for s in page["phq9"] if s["kind"] == "response"]
    assert sorted(s["points"][0]["y"] for s in responses) == sorted(
        f["baselineScore"] * (1 - timeline["responseMinimumDrop"]) for f in details["trials"]
        if f["baselineScore"] is not None)
    # Procedures, and the sentence per trial beside the chart.
    drawn = sorted((s["kind"], p["x"]) for s in page["procedures"] for p in s["points"])
    assert drawn == sorted((p["kind"], _day(p["performedOn"])) for p in timeline["procedures"])
    assert page["rows"] == len(trials)
    if trials:
        assert len(page["reasons"]) == len(trials)
        for trial, reason in zip(trials, page["reasons"], strict=True):
            assert reason.startswith(trial["ingredient"])
    assert page["dq"] == len(assessment["dataQuality"])


def _examples() -> list[str]:
    manifest = json.loads((EXAMPLES / "manifest.json").read_text())
    return sorted(manifest["examples"])


@pytest.mark.parametrize("name", _examples())
def test_the_page_draws_each_example_as_its_assessment_says(
    service: str, browser: Any, name: str
) -> None:
    manifest = json.loads((EXAMPLES / "manifest.json").read_text())
    bundle = json.loads((EXAMPLES / manifest["examples"][name]["bundle"]).read_text())
    answer = _evaluate(service, bundle)
    if not any("/timeline/" in link["url"] for card in answer["cards"]
               for link in card.get("links", [])):
        # No TRD-status, augment or switch card to link from: nothing to open.
        assert answer["assessment"]["trdStatus"] not in {"met"}
        return
    page = _open(browser, _timeline_url(answer), name)
    _check_against(answer, page)


def rich_bundle() -> dict[str, Any]:
    """An example with every kind of mark: a dose step across a merged gap, an augmenter, a
    record without a dose (a data-quality finding), ECT and psychotherapy sessions."""
    bundle = copy.deepcopy(json.loads((EXAMPLES / "thase-rush-iii-maudsley.json").read_text()))
    entries = bundle["entry"]
    first = next(e["resource"] for e in entries if e["resource"].get("id") == "ms-3")
    step = copy.deepcopy(first)
    first["effectivePeriod"] = {"start": "2023-03-15", "end": "2023-04-20"}
    first["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 50
    step["id"] = "ms-3b"
    step["effectivePeriod"] = {"start": "2023-05-10", "end": "2023-07-31"}
    step["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 150
    undosed = copy.deepcopy(step)
    undosed["id"] = "ms-mirtazapine"
    undosed["medicationCodeableConcept"] = {"text": "mirtazapine", "coding": [{
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "15996",
        "display": "mirtazapine"}]}
    undosed["effectivePeriod"] = {"start": "2024-09-01", "end": "2024-11-30"}
    undosed.pop("dosage")
    therapy = copy.deepcopy(next(e["resource"] for e in entries
                                 if e["resource"]["resourceType"] == "Procedure"))
    therapy["id"] = "proc-cbt"
    therapy["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "304891004",
                                   "display": "Cognitive behavioral therapy"}]}
    therapy.pop("performedPeriod", None)
    therapy["performedDateTime"] = "2024-06-10"
    entries += [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r}
                for r in (step, undosed, therapy)]
    return bundle


def test_the_page_draws_dose_steps_gaps_augmenters_findings_and_procedures(
    service: str, browser: Any
) -> None:
    answer = _evaluate(service, rich_bundle())
    timeline = answer["assessment"]["details"]["timeline"]
    # The bundle holds what this test is about.
    assert [r["dailyDoseMg"] for r in timeline["doseRecords"]
            if r["ingredient"] == "sertraline"] == [50, 150]
    assert {p["kind"] for p in timeline["procedures"]} == {"ect", "psychotherapy"}
    assert [a["agent"] for a in timeline["augmenters"]] == ["aripiprazole"]
    assert any(f["resource"] == "MedicationStatement/ms-mirtazapine"
               for f in answer["assessment"]["dataQuality"])
    page = _open(browser, _timeline_url(answer), "rich")
    _check_against(answer, page)
    sertraline = page["drugs"]["sertraline"]
    gaps = [s for s in sertraline if s["kind"] == "gap"]
    assert [[p["x"] for p in g["points"]] for g in gaps] == [[_day("2023-04-21"),
                                                             _day("2023-05-10")]]
    markers = [s for s in page["drugs"]["mirtazapine"] if s["kind"] == "data-quality"]
    assert [m["finding"]["resource"] for m in markers] == ["MedicationStatement/ms-mirtazapine"]
    assert "dose-unknown" in {s["flag"] for s in page["drugs"]["mirtazapine"]}
    # Printed: the charts and the assessment side by side, without the status line.
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        layout = browser.execute_script("""
            const box = id => document.getElementById(id).getBoundingClientRect();
            return {charts: box('charts').width, aside: box('assessment').left,
                    chartsRight: box('charts').right,
                    status: getComputedStyle(document.getElementById('status')).display};""")
        browser.save_screenshot(str(ARTIFACTS / "rich-print.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert layout["status"] == "none"
    assert layout["aside"] >= layout["chartsRight"] and layout["charts"] > 400


def test_an_expired_or_missing_handle_says_so_on_the_page(service: str, browser: Any) -> None:
    browser.get("about:blank")
    browser.get(f"{service}/timeline/#h=AAAA.BBBB")
    deadline = time.monotonic() + 20
    while not browser.execute_script("return !!(window.trdTimeline && window.trdTimeline.ready)"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "expired or is not valid" in browser.execute_script("return window.trdTimeline.error")
    # The handle is taken out of the address bar.
    assert "#" not in browser.current_url
    browser.get_log("browser")  # the refused fetch is logged as a 401: expected here


def test_the_contrast_check_finds_text_below_aa(service: str, browser: Any) -> None:
    answer = _evaluate(service, json.loads((EXAMPLES / "classic-trd.json").read_text()))
    _open(browser, _timeline_url(answer), "classic-trd")
    low = browser.execute_script("""
        const p = document.createElement('p'); p.textContent = 'pale';
        p.style.color = '#aaaaaa'; document.getElementById('assessment').appendChild(p);
    """ + _CONTRAST)
    assert [row[1] for row in low] == ["pale"]
    assert 2.0 < float(low[0][2]) < 2.5  # #aaa on #f3f3f3
