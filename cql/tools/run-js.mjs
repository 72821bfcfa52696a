#!/usr/bin/env node
// Evaluate the TRD libraries with the reference JS engine (cql-execution + cql-exec-fhir), to
// check the clinical logic and the Python engine against it.
//
// Usage (from the checkout):
//   node cql/tools/run-js.mjs [--library TRDAssessment] [--as-of YYYY-MM-DD]
//        [--params '{"TrialGapDays": 30}'] [--draft-orders FILE.json] [--define NAME ...]
//        [--elm]
//        BUNDLE.json [BUNDLE.json ...]
// Prints {"<bundle file>": {"<define>": value, ...}} with Dates as "YYYY-MM-DD" strings,
// Decimals as numbers, Tuples as objects and FHIR resources as "ResourceType/id".
// The CQL is translated afresh from cql/*.cql (so the check never runs stale ELM), or with
// --elm the committed cql/elm/*.json are used (faster; `build-elm.mjs --check` keeps them
// current); value sets
// come from cql/valuesets/*.json (their expansion).
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { createTranslator, CQL_DIR } from "./translate.mjs";

const require = createRequire(import.meta.url);
const cql = require("cql-execution");
const cqlfhir = require("cql-exec-fhir");

function parseArgs(argv) {
  const o = { library: "TRDAssessment", asOf: null, params: {}, defines: [], bundles: [], drafts: null, elm: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--library") o.library = argv[++i];
    else if (a === "--as-of") o.asOf = argv[++i];
    else if (a === "--params") o.params = JSON.parse(argv[++i]);
    else if (a === "--define") o.defines.push(argv[++i]);
    else if (a === "--elm") o.elm = true;
    else if (a === "--draft-orders") o.drafts = JSON.parse(readFileSync(argv[++i], "utf8"));
    else o.bundles.push(a);
  }
  return o;
}

function loadCommittedElm() {
  const dir = join(CQL_DIR, "elm");
  const elms = {};
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".json")) continue;
    const elm = JSON.parse(readFileSync(join(dir, f), "utf8"));
    elms[elm.library.identifier.id] = elm;
  }
  return elms;
}

function loadElm() {
  const t = createTranslator({ libDir: CQL_DIR });
  const elms = {};
  for (const [name, lib] of t.libraries) {
    const r = t.translate(lib.text);
    if (!r.ok) {
      for (const e of r.errors) process.stderr.write(`${lib.file}:${e.line}:${e.column}: ${e.message}\n`);
      throw new Error(`translation of ${name} failed`);
    }
    elms[name] = r.elm;
  }
  return elms;
}

function loadValueSets() {
  const dir = join(CQL_DIR, "valuesets");
  const out = {};
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".json")) continue;
    const vs = JSON.parse(readFileSync(join(dir, f), "utf8"));
    out[vs.url] = { [vs.version]: (vs.expansion?.contains ?? []).map((c) => ({ code: c.code, system: c.system })) };
  }
  return out;
}

function pad(n, w = 2) { return String(n).padStart(w, "0"); }

export function plain(v) {
  if (v == null) return null;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof cql.Date) return `${v.year}${v.month != null ? "-" + pad(v.month) : ""}${v.day != null ? "-" + pad(v.day) : ""}`;
  if (v instanceof cql.DateTime) return v.toString();
  if (v instanceof cql.Interval) return { low: plain(v.low), high: plain(v.high), lowClosed: v.lowClosed, highClosed: v.highClosed };
  if (v instanceof cql.Quantity) return { value: v.value, unit: v.unit };
  if (v instanceof cql.Code) return { code: v.code, system: v.system };
  if (typeof v === "object" && typeof v.getTypeInfo === "function") {
    const j = v._json ?? {};
    return j.resourceType ? `${j.resourceType}/${j.id}` : j;
  }
  if (typeof v === "object" && v.isDecimal !== undefined) return Number(v);
  if (typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

export async function runBundles({ library, asOf, params, defines, bundles, drafts, elm }) {
  const elms = elm ? loadCommittedElm() : loadElm();
  const repo = new cql.Repository(elms);
  const lib = repo.resolve(library, elms[library].library.identifier.version);
  const codeService = new cql.CodeService(loadValueSets());
  const parameters = { ...params };
  if (drafts) {
    parameters["DraftOrders"] = drafts.map((r) => cqlfhir.FHIRWrapper.FHIRv401().wrap(r));
  }
  const executor = new cql.Executor(lib, codeService, parameters);
  const when = asOf ? cql.DateTime.parse(`${asOf}T00:00:00.000+00:00`) : cql.DateTime.fromJSDate(new Date(), 0);
  const out = {};
  for (const file of bundles) {
    const bundle = JSON.parse(readFileSync(file, "utf8"));
    const ps = cqlfhir.PatientSource.FHIRv401();
    ps.loadBundles([bundle]);
    const res = await executor.exec(ps, when);
    const pr = Object.values(res.patientResults)[0] ?? {};
    const picked = {};
    for (const k of Object.keys(pr)) {
      if (k === "Patient") continue;
      if (defines.length && !defines.includes(k)) continue;
      picked[k] = plain(pr[k]);
    }
    out[file] = picked;
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const opts = parseArgs(process.argv.slice(2));
  runBundles(opts).then(
    (out) => process.stdout.write(JSON.stringify(out, null, 2) + "\n"),
    (e) => { process.stderr.write(`run-js: ${e && e.stack || e}\n`); process.exitCode = 1; },
  );
}
