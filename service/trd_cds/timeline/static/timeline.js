/* The trial timeline page: reads one cached assessment (named by the launch handle of a card's
 * link) and draws its trials, doses, PHQ-9 series and procedures with Chart.js. No build step. */
(function () {
  "use strict";
  var DAY = 86400000;
  var COLORS = {
    dose: "#1f4e79", doseFill: "rgba(31, 78, 121, 0.45)", unknown: "#595959",
    unknownFill: "rgba(89, 89, 89, 0.25)", adequate: "#8a4b00", flag: "#a4262c",
    dq: "#5c2d91", rule: "#767676", phq9: "#1b1b1b", baseline: "#1f4e79",
    outcome: "#a4262c", remission: "#2e6b30", response: "#8a4b00", ect: "#1f4e79",
    psychotherapy: "#2e6b30"
  };
  var FLAG_WORDS = {
    "low-dose": "low dose", "too-short": "too short", "poor-adherence": "poor adherence",
    "dose-unknown": "dose not recorded", "interacting-drug": "interacting drug",
    "date-imprecise": "dates known in part"
  };
  var state = window.trdTimeline = { ready: false, error: null, drugCharts: {}, charts: [] };

  function dayOf(iso) { return Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / DAY; }
  function isoOf(day) { return new Date(day * DAY).toISOString().slice(0, 10); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  /* **bold** in the sentences of content.toml, without innerHTML. */
  function rich(node, text) {
    text.split("**").forEach(function (part, i) {
      node.appendChild(i % 2 ? el("strong", {}, part) : document.createTextNode(part));
    });
    return node;
  }

  function handle() {
    var match = /[#&]h=([A-Za-z0-9_\-.]+)/.exec(window.location.hash);
    if (match) {
      sessionStorage.setItem("trd-timeline-handle", match[1]);
      // Out of the address bar and the history: the handle is a credential.
      history.replaceState(null, "", window.location.pathname);
      return match[1];
    }
    return sessionStorage.getItem("trd-timeline-handle");
  }

  function fail(message) {
    var status = document.getElementById("status");
    status.textContent = message;
    status.className = "status error";
    state.error = message;
    state.ready = true;
  }

  function load() {
    var h = handle();
    if (!h) { fail("No launch handle: open the timeline from a card's link."); return; }
    fetch("assessment", { headers: { "X-Launch-Handle": h }, cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (response.status === 401) throw new Error("The link has expired or is not valid: open the timeline again from the card.");
        if (!response.ok) {
          return response.json().then(function (outcome) {
            var issue = (outcome.issue || [])[0] || {};
            throw new Error(issue.diagnostics || "The assessment could not be read (" + response.status + ").");
          });
        }
        return response.json();
      })
      .then(render)
      .catch(function (error) { fail(error.message); });
  }

  /* Month starts between two days, as axis ticks. */
  function monthTicks(min, max) {
    var ticks = [], d = new Date(min * DAY), step = (max - min) > 800 ? 3 : 1;
    d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    while (d.getTime() / DAY <= max) {
      if (d.getUTCMonth() % step === 0) ticks.push({ value: d.getTime() / DAY });
      d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    }
    return ticks;
  }

  function xScale(range) {
    return {
      type: "linear", min: range.min, max: range.max,
      afterBuildTicks: function (scale) { scale.ticks = monthTicks(range.min, range.max); },
      ticks: { callback: function (value) { return isoOf(value).slice(0, 7); }, maxRotation: 0, autoSkip: true },
      grid: { color: "#e0e0e0" }
    };
  }

  /* Every chart's plot starts at the same x, so the time axes line up. */
  function fixedWidth(scale) { scale.width = 64; }

  function baseOptions(range, yTitle) {
    return {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      normalized: true,
      plugins: { legend: { display: false }, tooltip: { callbacks: {} } },
      scales: { x: xScale(range), y: { min: 0, title: { display: !!yTitle, text: yTitle },
        afterFit: fixedWidth } }
    };
  }

  /* The next round number (1 to 10 in small steps, times a power of ten): the dose axis ends there. */
  function niceCeil(value) {
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var step = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find(function (m) { return m * power >= value; });
    return step * power;
  }

  function segment(kind, label, from, to, y, style) {
    return Object.assign({
      type: "line", label: label, trdKind: kind,
      data: [{ x: from, y: y }, { x: to, y: y }], pointRadius: 0, borderWidth: 2, fill: false
    }, style || {});
  }

  /* Records of one trial: those of its drug that start within it. */
  function recordsOf(trial, records) {
    return records.filter(function (r) {
      return r.ingredient === trial.ingredient && r.start >= trial.start && r.start <= trial.end;
    });
  }

  /* Days of a trial that no record covers (the gaps TrialGapDays merged). */
  function gapsOf(trial, records) {
    var spans = records.map(function (r) { return [dayOf(r.start), dayOf(r.end)]; })
      .sort(function (a, b) { return a[0] - b[0]; });
    var gaps = [], reach = null;
    spans.forEach(function (s) {
      if (reach !== null && s[0] > reach + 1) gaps.push([reach + 1, s[0]]);
      reach = reach === null ? s[1] : Math.max(reach, s[1]);
    });
    return gaps;
  }

  function drugChart(container, name, trials, facts, records, findings, range) {
    var box = el("div", { "class": "drug", "data-drug": name });
    var title = trials.length && trials[0]["class"] ? name + " (" + trials[0]["class"] + ")" : name;
    box.appendChild(el("h3", {}, title));
    var holder = el("div", { "class": "chart chart-drug" });
    var canvas = el("canvas", { role: "img", id: "drug-" + name.replace(/[^a-z0-9]/gi, "-"),
      "aria-label": "Daily doses of " + name + " over time" });
    holder.appendChild(canvas);
    box.appendChild(holder);
    var notes = el("p", { "class": "findings" });
    box.appendChild(notes);
    container.appendChild(box);

    var datasets = [], top = 0, noteText = [];
    trials.forEach(function (trial) {
      var fact = facts[trial.__index] || {};
      var own = recordsOf(trial, records);
      var adequate = fact.minAdequateMg;
      var unknownHeight = adequate || 1;
      own.forEach(function (r) {
        var dose = r.dailyDoseMg;
        var known = dose !== null && dose !== undefined;
        datasets.push(segment("dose", known ? dose + " mg/day" : "dose not recorded",
          dayOf(r.start), dayOf(r.end) + 1, known ? dose : unknownHeight, {
            borderColor: known ? COLORS.dose : COLORS.unknown,
            backgroundColor: known ? COLORS.doseFill : COLORS.unknownFill,
            borderDash: known ? [] : [4, 3], fill: "origin", trdRecord: r, trdTrial: trial.start
          }));
        top = Math.max(top, known ? dose : unknownHeight);
        findings.forEach(function (f) {
          if (f.resource === r.resource) {
            datasets.push({ type: "scatter", label: "data quality: " + f.issue, trdKind: "data-quality",
              data: [{ x: dayOf(r.start), y: null }], pointStyle: "circle", pointRadius: 6, clip: false,
              backgroundColor: COLORS.dq, borderColor: COLORS.dq, trdFinding: f });
          }
        });
      });
      if (adequate !== null && adequate !== undefined) {
        datasets.push(segment("adequate", "adequate dose " + adequate + " mg/day",
          dayOf(trial.start), dayOf(trial.end) + 1, adequate,
          { borderColor: COLORS.adequate, borderDash: [7, 4], trdTrial: trial.start }));
        top = Math.max(top, adequate);
      }
      gapsOf(trial, own).forEach(function (g) {
        datasets.push(segment("gap", "gap merged into the trial (" + (g[1] - g[0]) + " days)",
          g[0], g[1], 0, { borderColor: COLORS.rule, borderDash: [2, 3], borderWidth: 3, trdTrial: trial.start }));
      });
      var flags = (trial.flags || []).filter(function (f) { return FLAG_WORDS[f]; });
      flags.forEach(function (flag, i) {
        datasets.push({ type: "scatter", label: FLAG_WORDS[flag], trdKind: "flag", trdFlag: flag,
          trdTrial: trial.start, data: [{ x: dayOf(trial.end) - i * 6, y: null }],
          pointStyle: "rectRot", pointRadius: 7, clip: false, backgroundColor: COLORS.flag, borderColor: COLORS.flag });
      });
      if (flags.length) {
        noteText.push(trial.start + " to " + trial.end + ": " + flags.map(function (f) { return FLAG_WORDS[f]; }).join(", "));
      }
    });
    var yMax = niceCeil((top || 1) * 1.3);
    datasets.forEach(function (d) {
      if (d.trdKind === "flag") d.data[0].y = yMax * 0.9;
      if (d.trdKind === "data-quality") d.data[0].y = yMax * 0.7;
    });
    notes.textContent = noteText.length ? "Findings: " + noteText.join("; ") : "";
    var options = baseOptions(range, "mg/day");
    options.scales.y.max = yMax;
    options.plugins.tooltip.callbacks.label = function (item) { return item.dataset.label; };
    var chart = new Chart(canvas, { type: "line", data: { datasets: datasets }, options: options });
    state.drugCharts[name] = chart;
    state.charts.push(chart);
  }

  function augmenterChart(container, agent, spans, range) {
    var box = el("div", { "class": "drug", "data-augmenter": agent });
    box.appendChild(el("h3", {}, agent + " (augmentation)"));
    var holder = el("div", { "class": "chart chart-drug" });
    var canvas = el("canvas", { role: "img", "aria-label": agent + " courses over time" });
    holder.appendChild(canvas);
    box.appendChild(holder);
    box.appendChild(el("p", { "class": "findings" }, "The rules read when an augmenter was taken, not its dose."));
    container.appendChild(box);
    var datasets = spans.map(function (s) {
      return segment("augmenter", agent + " " + s.start + " to " + s.end, dayOf(s.start), dayOf(s.end) + 1, 1,
        { borderColor: COLORS.dose, backgroundColor: COLORS.doseFill, fill: "origin", trdRecord: s });
    });
    var options = baseOptions(range, "");
    options.scales.y.max = 1.3;
    options.scales.y.ticks = { display: false };
    options.plugins.tooltip.callbacks.label = function (item) { return item.dataset.label; };
    var chart = new Chart(canvas, { type: "line", data: { datasets: datasets }, options: options });
    state.drugCharts[agent] = chart;
    state.charts.push(chart);
  }

  function phq9Chart(assessment, timeline, facts, range) {
    var series = (timeline.phq9 || []).map(function (p) { return { x: dayOf(p.takenOn), y: p.score, takenOn: p.takenOn }; });
    var trials = assessment.trials || [];
    var baseline = [], outcome = [], datasets = [];
    facts.forEach(function (f, i) {
      var trial = trials[i] || {};
      if (f.baselineDate) baseline.push({ x: dayOf(f.baselineDate), y: f.baselineScore, drug: f.ingredient, takenOn: f.baselineDate });
      if (f.outcomeDate) outcome.push({ x: dayOf(f.outcomeDate), y: f.outcomeScore, drug: f.ingredient, takenOn: f.outcomeDate });
      if (f.baselineScore !== null && f.baselineScore !== undefined && trial.start) {
        var y = f.baselineScore * (1 - timeline.responseMinimumDrop);
        datasets.push(segment("response", "response threshold (" + f.ingredient + "): " + y,
          dayOf(trial.start), dayOf(trial.end) + 1, y, { borderColor: COLORS.response, borderDash: [7, 4], pointStyle: "line" }));
      }
    });
    datasets.unshift(
      { type: "line", label: "PHQ-9 total", trdKind: "phq9", data: series, borderColor: COLORS.phq9,
        backgroundColor: COLORS.phq9, pointRadius: 3, borderWidth: 1.5 },
      { type: "scatter", label: "baseline the rules used", trdKind: "baseline", data: baseline,
        pointStyle: "triangle", pointRadius: 9, backgroundColor: COLORS.baseline, borderColor: COLORS.baseline },
      { type: "scatter", label: "outcome the rules used", trdKind: "outcome", data: outcome,
        pointStyle: "rect", pointRadius: 8, backgroundColor: COLORS.outcome, borderColor: COLORS.outcome },
      segment("remission", "remission: below " + timeline.remissionBelowScore, range.min, range.max,
        timeline.remissionBelowScore, { borderColor: COLORS.remission, borderDash: [3, 3], pointStyle: "line" })
    );
    var options = baseOptions(range, "PHQ-9 total");
    options.scales.y.max = 27;
    options.plugins.legend = { display: true, position: "bottom", labels: {
      usePointStyle: true, filter: function (item, data) {
        // One legend entry per kind: the per-trial response lines share one.
        var ds = data.datasets[item.datasetIndex];
        return ds.trdKind !== "response" || data.datasets.findIndex(function (d) { return d.trdKind === "response"; }) === item.datasetIndex;
      }, generateLabels: function (chart) {
        return Chart.defaults.plugins.legend.labels.generateLabels(chart).map(function (l) {
          if (chart.data.datasets[l.datasetIndex].trdKind === "response") l.text = "response threshold (" + (timeline.responseMinimumDrop * 100) + "% below baseline)";
          return l;
        });
      } } };
    options.plugins.tooltip.callbacks.label = function (item) {
      var p = item.raw;
      return item.dataset.label + (p.takenOn ? ": " + p.y + " on " + p.takenOn : "");
    };
    var chart = new Chart(document.getElementById("phq9"), { type: "line", data: { datasets: datasets }, options: options });
    state.phq9 = chart;
    state.charts.push(chart);
  }

  function proceduresChart(timeline, range) {
    var procedures = timeline.procedures || [];
    if (!procedures.length) {
      document.querySelector(".chart-procedures").hidden = true;
      document.getElementById("no-procedures").hidden = false;
      return;
    }
    var rows = { ect: 1, psychotherapy: 0 };
    var datasets = ["ect", "psychotherapy"].map(function (kind) {
      return { type: "scatter", label: kind === "ect" ? "ECT" : "psychotherapy", trdKind: kind,
        data: procedures.filter(function (p) { return p.kind === kind; })
          .map(function (p) { return { x: dayOf(p.performedOn), y: rows[kind], performedOn: p.performedOn }; }),
        pointStyle: kind === "ect" ? "rectRot" : "circle", pointRadius: 6,
        backgroundColor: COLORS[kind], borderColor: COLORS[kind] };
    });
    var options = baseOptions(range, "");
    options.scales.y = { min: -0.6, max: 1.6, afterFit: fixedWidth,
      afterBuildTicks: function (scale) { scale.ticks = [{ value: 0 }, { value: 1 }]; },
      ticks: { callback: function (v) {
      return v === 1 ? "ECT" : v === 0 ? "therapy" : ""; } } };
    var chart = new Chart(document.getElementById("procedures"), { type: "scatter", data: { datasets: datasets }, options: options });
    state.procedures = chart;
    state.charts.push(chart);
  }

  function sidePanel(body) {
    var assessment = body.assessment, explanation = body.explanation;
    var cards = document.getElementById("cards");
    (body.cards || []).forEach(function (c) {
      var card = el("div", { "class": "card " + c.indicator });
      card.appendChild(el("div", { "class": "indicator" }, c.indicator));
      card.appendChild(el("div", { "class": "summary" }, c.summary));
      cards.appendChild(card);
    });
    document.getElementById("staging").textContent = explanation.staging;
    var reasons = document.getElementById("trial-reasons");
    explanation.trials.forEach(function (t) { reasons.appendChild(rich(el("li"), t)); });
    var dq = document.getElementById("data-quality");
    var findings = assessment.dataQuality || [];
    if (!findings.length) dq.appendChild(el("li", {}, "Every record could be read."));
    findings.forEach(function (f) {
      dq.appendChild(el("li", { "class": "dq" }, f.resource + ", " + f.path + ": " + f.issue + " (" + f.effect + ")"));
    });
    var records = ((assessment.details || {}).timeline || {}).doseRecords || [];
    var tbody = document.querySelector("#trial-table tbody");
    (assessment.trials || []).forEach(function (t) {
      var doses = recordsOf(t, records).map(function (r) {
        return r.dailyDoseMg === null ? "not recorded" : String(r.dailyDoseMg);
      });
      var row = el("tr", { "data-trial": t.ingredient + " " + t.start });
      [t.ingredient, t.start, t.end, doses.join(", "),
        (t.flags || []).map(function (f) { return FLAG_WORDS[f] || f; }).join(", ")]
        .forEach(function (v) { row.appendChild(el("td", {}, v)); });
      tbody.appendChild(row);
    });
  }

  function render(body) {
    var assessment = body.assessment;
    var details = assessment.details || {};
    var timeline = details.timeline || {};
    var facts = details.trials || [];
    var trials = (assessment.trials || []).map(function (t, i) { return Object.assign({ __index: i }, t); });
    document.getElementById("title").textContent = body.explanation.title;
    document.getElementById("meta").textContent = "Evaluated on " + assessment.evaluationDate +
      (assessment.complete === false ? " (incomplete: " + assessment.unavailableReason + ")" : "") +
      "; ruleset " + (assessment.rulesetVersion || "unknown") +
      "; this link expires at " + new Date(body.expiresAt * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC.";

    var days = [dayOf(assessment.evaluationDate)];
    trials.forEach(function (t) { days.push(dayOf(t.start), dayOf(t.end)); });
    (timeline.phq9 || []).forEach(function (p) { days.push(dayOf(p.takenOn)); });
    (timeline.augmenters || []).forEach(function (a) { days.push(dayOf(a.start), dayOf(a.end)); });
    (timeline.procedures || []).forEach(function (p) { days.push(dayOf(p.performedOn)); });
    var range = { min: Math.min.apply(null, days) - 14, max: Math.max.apply(null, days) + 14 };

    Chart.defaults.color = "#333";
    Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    document.getElementById("status").hidden = true;
    document.getElementById("main").hidden = false;

    var container = document.getElementById("drugs");
    var byDrug = {};
    trials.forEach(function (t) { (byDrug[t.ingredient] = byDrug[t.ingredient] || []).push(t); });
    var records = timeline.doseRecords || [];
    Object.keys(byDrug).forEach(function (name) {
      drugChart(container, name, byDrug[name], facts, records, assessment.dataQuality || [], range);
    });
    var byAgent = {};
    (timeline.augmenters || []).forEach(function (a) { (byAgent[a.agent] = byAgent[a.agent] || []).push(a); });
    Object.keys(byAgent).forEach(function (agent) { augmenterChart(container, agent, byAgent[agent], range); });
    if (!trials.length && !Object.keys(byAgent).length) container.appendChild(el("p", { "class": "note" }, body.explanation.trials[0]));
    phq9Chart(assessment, timeline, facts, range);
    proceduresChart(timeline, range);
    sidePanel(body);
    state.body = body;
    state.range = range;
    state.ready = true;
  }

  window.addEventListener("beforeprint", function () { state.charts.forEach(function (c) { c.resize(); }); });
  window.addEventListener("afterprint", function () { state.charts.forEach(function (c) { c.resize(); }); });
  // Another card's link opened in the same tab changes only the fragment: start again.
  window.addEventListener("hashchange", function () {
    if (/[#&]h=/.test(window.location.hash)) window.location.reload();
  });
  document.addEventListener("DOMContentLoaded", load);
})();
