#!/usr/bin/env node
// Runs compiled ELM over FHIR bundles with the reference JS engine (cql-execution +
// cql-exec-fhir) and writes the results file of ../shared/cql-toolchain/ENCODING.md.
//
//   node cql/tools/reference-run.mjs --library NAME --bundles B1.json [B2.json ...]
//        [--as-of YYYY-MM-DD] [--param NAME=JSON ...] [--elm-dir cql/elm]
//        [--valuesets cql/valuesets] [--output FILE]
//   node cql/tools/reference-run.mjs --check [--library NAME ...] [--bundles ...] [--unordered]
//        [--corpus N] [--seed S] [--jobs N] [--differences FILE] [--show-documented]
//        The reference comparison (`make compare`): runs our engine too (`python -m
//        trd_cds.cql_tools.tool run`, same ELM, same bundles) and compares every define's value,
//        value by value. Without --library every library in the ELM folder that has
//        Patient-context defines is checked (FHIRHelpers excluded); without --bundles every
//        Bundle in fhir_examples/ is used, plus a corpus of --corpus patients (default 200, 0
//        for none) that cql/tools/gen_corpus.py writes afresh into .build/corpus with a fixed
//        seed, plus its patients with partial dates (corpus-partial-NNNN: year-only birth
//        dates, periods known to the month). The as-of date defaults to the one of fhir_examples/manifest.json. Differences
//        listed in tests/engine/reference_differences.json (each explained by a section of the
//        CQL specification) are counted as documented; any other difference exits 1.
//        The JS engine runs in --jobs processes (default: the number of CPUs).
//   node cql/tools/reference-run.mjs --timing ROUNDS --library NAME --bundles ...
//        prints {"loadMs", "perPatientMs": [median warm ms per bundle], "erroredDefines",
//        "defines"} (used by bench/bench_engine.py); with --fair, one context per included
//        library and one-operand function results remembered per patient, as our engine does
//
// Evaluation time is the as-of date (default: today, UTC) at 00:00:00.000+00:00. Each define
// is evaluated on its own so that one failing define is reported as an Error value instead of
// aborting the patient. Parameters are typed JSON as in the encoding ({"type":"Date",...}).

import { readFileSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { CQL_DIR, CHECKOUT_DIR } from "./translate.mjs";

const require = createRequire(import.meta.url);
const cql = require("cql-execution");
const cqlfhir = require("cql-exec-fhir");
const { FunctionRef } = require("cql-execution/lib/elm/reusable");

function parseArgs(argv) {
  const opts = { libraries: [], bundles: [], params: [], check: false, unordered: false,
    elmDir: join(CQL_DIR, "elm"), valuesets: join(CQL_DIR, "valuesets"), asOf: null, output: null,
    worker: false, corpus: 200, seed: 20250601, jobs: availableParallelism(),
    differences: join(CHECKOUT_DIR, "tests", "engine", "reference_differences.json") };
  let listTarget = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--library") { opts.libraries.push(argv[++i]); listTarget = null; }
    else if (a === "--bundles" || a === "--bundle") listTarget = "bundles";
    else if (a === "--param") { opts.params.push(argv[++i]); listTarget = null; }
    else if (a === "--as-of") { opts.asOf = argv[++i]; listTarget = null; }
    else if (a === "--elm-dir") { opts.elmDir = resolve(argv[++i]); listTarget = null; }
    else if (a === "--valuesets") { opts.valuesets = resolve(argv[++i]); listTarget = null; }
    else if (a === "--output" || a === "-o") { opts.output = argv[++i]; listTarget = null; }
    else if (a === "--check") { opts.check = true; listTarget = null; }
    else if (a === "--unordered") { opts.unordered = true; listTarget = null; }
    else if (a === "--timing") { opts.timing = Number(argv[++i]); listTarget = null; }
    else if (a === "--fair") { opts.fair = true; listTarget = null; }
    else if (a === "--worker") { opts.worker = true; listTarget = null; }
    else if (a === "--show-documented") { opts.showDocumented = true; listTarget = null; }
    else if (a === "--corpus") { opts.corpus = Number(argv[++i]); listTarget = null; }
    else if (a === "--seed") { opts.seed = Number(argv[++i]); listTarget = null; }
    else if (a === "--jobs") { opts.jobs = Math.max(1, Number(argv[++i])); listTarget = null; }
    else if (a === "--differences") { opts.differences = resolve(argv[++i]); listTarget = null; }
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else if (listTarget) opts[listTarget].push(a);
    else throw new Error(`unexpected argument ${a}`);
  }
  return opts;
}

// --- loading ----------------------------------------------------------------------------------

function loadElmDir(dir) {
  const libs = {};
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".json")).sort()) {
    const elm = JSON.parse(readFileSync(join(dir, f), "utf8"));
    if (elm && elm.library && elm.library.identifier) libs[elm.library.identifier.id] = elm;
  }
  return libs;
}

// FHIR ValueSet resources -> cql-execution's {url: {version: [codes]}}; codes come from the
// expansion when present, else from compose.include concepts.
function loadValueSets(dir) {
  const out = {};
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".json")).sort()) {
    const vs = JSON.parse(readFileSync(join(dir, f), "utf8"));
    if (!vs || vs.resourceType !== "ValueSet" || !vs.url) continue;
    const codes = [];
    if (vs.expansion && Array.isArray(vs.expansion.contains)) {
      const walk = (items) => {
        for (const c of items) {
          if (c.code) codes.push({ code: c.code, system: c.system, version: c.version });
          if (Array.isArray(c.contains)) walk(c.contains);
        }
      };
      walk(vs.expansion.contains);
    } else if (vs.compose && Array.isArray(vs.compose.include)) {
      for (const inc of vs.compose.include) {
        for (const c of inc.concept || []) codes.push({ code: c.code, system: inc.system, version: inc.version });
      }
    }
    out[vs.url] = out[vs.url] || {};
    out[vs.url][vs.version || ""] = codes;
  }
  return out;
}

function asOfDateTime(asOf) {
  const d = asOf ? new Date(`${asOf}T00:00:00Z`) : new Date();
  if (Number.isNaN(d.getTime())) throw new Error(`--as-of expects YYYY-MM-DD, got ${asOf}`);
  return new cql.DateTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, 0, 0, 0, 0);
}

function decodeParam(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(decodeParam);
  switch (v.type) {
    case "Date": return cql.Date.parse(v.value);
    case "DateTime": return cql.DateTime.parse(v.value.replace("Z", "+00:00"));
    case "Time": return cql.DateTime.parse(`0000-01-01T${v.value}`);
    case "Quantity": return new cql.Quantity(v.value, v.unit || "1");
    case "Interval": return new cql.Interval(decodeParam(v.low), decodeParam(v.high),
      v.lowClosed !== false, v.highClosed !== false);
    case "Code": return new cql.Code(v.code, v.system, v.version, v.display);
    case "Concept": return new cql.Concept((v.codes || []).map(decodeParam), v.display);
    default: {
      const t = {};
      for (const [k, x] of Object.entries(v)) t[k] = decodeParam(x);
      return t;
    }
  }
}

// --- encoding (ENCODING.md) -------------------------------------------------------------------

const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, "0");
const round8 = (x) => Math.round(x * 1e8) / 1e8;

function formatOffset(hours) {
  const total = Math.round(Math.abs(hours) * 60);
  return `${hours < 0 ? "-" : "+"}${pad(Math.floor(total / 60))}:${pad(total % 60)}`;
}

function formatDateTime(v) {
  let s = pad(v.year, 4);
  if (v.month == null) return s;
  s += `-${pad(v.month)}`;
  if (v.day == null) return s;
  s += `-${pad(v.day)}`;
  if (v.hour == null) return s;
  s += `T${pad(v.hour)}`;
  if (v.minute != null) {
    s += `:${pad(v.minute)}`;
    if (v.second != null) {
      s += `:${pad(v.second)}`;
      if (v.millisecond != null) s += `.${pad(v.millisecond, 3)}`;
    }
  }
  // ENCODING.md: a DateTime without an offset takes the evaluation's offset, +00:00.
  s += formatOffset(v.timezoneOffset != null ? v.timezoneOffset : 0);
  return s;
}

function formatTime(v) {
  let s = pad(v.hour);
  if (v.minute != null) {
    s += `:${pad(v.minute)}`;
    if (v.second != null) {
      s += `:${pad(v.second)}`;
      if (v.millisecond != null) s += `.${pad(v.millisecond, 3)}`;
    }
  }
  return s;
}

function isFhirObject(v) {
  return v && typeof v === "object" && typeof v.getTypeInfo === "function" && "_json" in v;
}

function fhirTypeName(v) {
  const info = v.getTypeInfo();
  return info && info.name ? String(info.name).replace(/^FHIR\./, "") : "Element";
}

function sortedJson(v) {
  if (Array.isArray(v)) return v.map(sortedJson);
  if (v === null || typeof v !== "object") return v;
  const out = {};
  for (const k of Object.keys(v).sort()) out[k] = sortedJson(v[k]);
  return out;
}

function encodeQuantity(q) {
  if (q == null) return null;
  return { type: "Quantity", value: q.value == null ? null : round8(Number(q.value)), unit: q.unit || "1" };
}

function encodeCode(c) {
  const out = { type: "Code" };
  for (const k of ["code", "system", "version", "display"]) if (c[k] != null) out[k] = c[k];
  return out;
}

export function encode(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? v : round8(v);
  if (Array.isArray(v)) return v.map(encode);
  if (v.isUncertainty) {
    const low = encode(v.low);
    const high = encode(v.high);
    return JSON.stringify(low) === JSON.stringify(high) ? low : { type: "Uncertainty", low, high };
  }
  if (v.isDateTime) {
    if (typeof v.isTime === "function" && v.isTime()) return { type: "Time", value: formatTime(v) };
    return { type: "DateTime", value: formatDateTime(v) };
  }
  if (v.isDate) return { type: "Date", value: formatDateTime(v) };
  if (v.isQuantity) return encodeQuantity(v);
  if (v.isRatio) return { type: "Ratio", numerator: encodeQuantity(v.numerator), denominator: encodeQuantity(v.denominator) };
  if (v.isConcept) {
    const out = { type: "Concept", codes: (v.codes || []).map(encodeCode) };
    if (v.display != null) out.display = v.display;
    return out;
  }
  if (v.isCode) return encodeCode(v);
  if (v.isInterval) {
    return { type: "Interval", low: encode(v.low), high: encode(v.high),
      lowClosed: !!v.lowClosed, highClosed: !!v.highClosed };
  }
  if (v.isValueSet || v instanceof cql.ValueSet) return { type: "ValueSet", id: v.oid, version: v.version ?? null };
  if (isFhirObject(v)) {
    const json = v._json;
    if (json && json.resourceType) return { type: "Resource", resourceType: json.resourceType, id: json.id ?? null };
    const name = fhirTypeName(v);
    const info = v.getTypeInfo();
    const valueElement = info && typeof info.findElement === "function" ? info.findElement("value") : null;
    const primitive = /^[a-z]/.test(name) || (valueElement && valueElement.typeSpecifier
      && String(valueElement.typeSpecifier.fqn || "").startsWith("System.") && info.elements.length === 1);
    if (primitive) return encode(v.value);
    return { type: "FHIR", fhirType: name, json: sortedJson(json) };
  }
  if (v.constructor === Object) {
    // cql-execution builds a `System.Ratio { numerator: .., denominator: .. }` instance as a
    // plain object; two Quantity members and nothing else can only be that Ratio.
    const keys = Object.keys(v).sort();
    if (keys.length === 2 && keys[0] === "denominator" && keys[1] === "numerator"
        && v.numerator && v.numerator.isQuantity && v.denominator && v.denominator.isQuantity) {
      return { type: "Ratio", numerator: encodeQuantity(v.numerator), denominator: encodeQuantity(v.denominator) };
    }
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = encode(v[k]);
    return out;
  }
  return { type: "Unsupported", jsType: v.constructor ? v.constructor.name : typeof v };
}

// --- running ----------------------------------------------------------------------------------

function prepare({ library, asOf = null, elmDir, valuesets }) {
  const libs = loadElmDir(elmDir);
  if (!libs[library]) throw new Error(`library ${library} not found in ${elmDir}`);
  const lib = new cql.Library(libs[library], new cql.Repository(libs));
  const names = Object.keys(lib.expressions).filter((k) => lib.expressions[k].context === "Patient");
  return { lib, names, codeService: new cql.CodeService(loadValueSets(valuesets)), when: asOfDateTime(asOf) };
}

// Every Patient-context define for one patient; a failing define becomes an Error value.
async function evaluatePatient(prep, patient, params, encodeValues = true) {
  const ctx = new cql.PatientContext(prep.lib, patient, prep.codeService, params, prep.when,
    new cql.NullMessageListener());
  const row = {};
  for (const name of prep.names) {
    try {
      const value = await prep.lib.expressions[name].execute(ctx);
      row[name] = encodeValues ? encode(value) : value;
    } catch (e) {
      row[name] = { type: "Error", message: String((e && e.message) || e).split("\n")[0] };
    }
  }
  return row;
}

// evaluatePatient over a SharedPatientContext (values not encoded: timing only).
async function evaluateShared(prep, patient, params) {
  const ctx = SharedPatientContext.for(prep.lib, patient, prep.codeService, params, prep.when, new Map());
  const row = {};
  for (const name of prep.names) {
    try {
      row[name] = await prep.lib.expressions[name].execute(ctx);
    } catch (e) {
      row[name] = { type: "Error", message: String((e && e.message) || e).split("\n")[0] };
    }
  }
  return row;
}

export async function referenceRun({ library, bundles, asOf = null, params = {}, elmDir, valuesets }) {
  const prep = prepare({ library, asOf, elmDir, valuesets });
  const source = cqlfhir.PatientSource.FHIRv401();
  source.loadBundles(bundles.map((b) => JSON.parse(readFileSync(b, "utf8"))));
  const results = {};
  for (let patient = source.currentPatient(); patient; patient = source.nextPatient()) {
    results[patient.getId()] = await evaluatePatient(prep, patient, params);
  }
  return results;
}

// A PatientContext whose included-library contexts are shared by library (not by alias) for
// one patient: a define of TRDCommon is then evaluated once per patient however many of the
// compared libraries reach it. CQL defines are pure per library, patient, parameters and
// evaluation time, so sharing changes no value; it only saves cql-execution, which caches a
// define's value per context, from recomputing it in every library's own context tree.
class SharedPatientContext extends cql.PatientContext {
  constructor(library, patient, codeService, parameters, when, shared) {
    super(library, patient, codeService, parameters, when, new cql.NullMessageListener());
    this.shared = shared;
  }

  static for(library, patient, codeService, parameters, when, shared) {
    const key = `${library.name}|${library.version}`;
    let ctx = shared.get(key);
    if (!ctx) {
      ctx = new SharedPatientContext(library, patient, codeService, parameters, when, shared);
      shared.set(key, ctx);
    }
    return ctx;
  }

  getLibraryContext(alias) {
    return SharedPatientContext.for(this.get(alias), this.patient, this.codeService, this.parameters,
      this.executionDateTime, this.shared);
  }
}

// Every Patient-context define of several libraries over the bundles:
// {library: {patient: {define: value}}}.
export async function referenceRunAll({ libraries, bundles, asOf = null, params = {}, elmDir, valuesets }) {
  const libs = loadElmDir(elmDir);
  const repository = new cql.Repository(libs);
  const codeService = new cql.CodeService(loadValueSets(valuesets));
  const when = asOfDateTime(asOf);
  const tops = libraries.map((name) => {
    if (!libs[name]) throw new Error(`library ${name} not found in ${elmDir}`);
    const lib = new cql.Library(libs[name], repository);
    return { name, lib, defines: Object.keys(lib.expressions).filter((k) => lib.expressions[k].context === "Patient") };
  });
  const results = Object.fromEntries(libraries.map((name) => [name, {}]));
  for (const file of bundles) {
    const source = cqlfhir.PatientSource.FHIRv401();
    source.loadBundles([JSON.parse(readFileSync(file, "utf8"))]);
    for (let patient = source.currentPatient(); patient; patient = source.nextPatient()) {
      const shared = new Map();
      for (const top of tops) {
        const ctx = SharedPatientContext.for(top.lib, patient, codeService, params, when, shared);
        const row = {};
        for (const name of top.defines) {
          try {
            row[name] = encode(await top.lib.expressions[name].execute(ctx));
          } catch (e) {
            row[name] = { type: "Error", message: String((e && e.message) || e).split("\n")[0] };
          }
        }
        results[top.name][patient.getId()] = row;
      }
    }
  }
  return results;
}

// One-operand function results by (library context, function name, operand value), for the
// fair timing below: our engine keeps these per patient, cql-execution recomputes them on
// every call (TRDCommon's "RxNorm Codes" tens of thousands of times per patient). Functions
// are pure, so a remembered result is the value a new call would compute.
const functionResults = new WeakMap();
let rememberFunctions = false;
const plainFunctionCall = FunctionRef.prototype.exec;
FunctionRef.prototype.exec = async function (ctx) {
  if (!rememberFunctions || !this.args || this.args.length !== 1) return plainFunctionCall.call(this, ctx);
  const arg = await this.args[0].execute(ctx);
  const owner = this.library ? ctx.getLibraryContext(this.library) : ctx.rootContext();
  let byName = functionResults.get(owner);
  if (!byName) functionResults.set(owner, (byName = new Map()));
  let byArg = byName.get(this.name);
  if (!byArg) byName.set(this.name, (byArg = new Map()));
  if (byArg.has(arg)) return byArg.get(arg);
  // The plain call with the operand already evaluated (so it is evaluated once, as uncached).
  const value = await plainFunctionCall.call(Object.create(this, { execArgs: { value: async () => [arg] } }), ctx);
  byArg.set(arg, value);
  return value;
};

// Warm per-patient timings: one untimed pass, then `rounds` timed passes; the median per
// patient (ms) is reported, with the number of defines that raised errors.
// fair: what our engine does too, so that the ratio compares engines rather than caching
// policies: one context per included library per patient (cql-execution otherwise keeps one
// per include path and evaluates a shared define once per path) and one-operand function
// results remembered per patient.
export async function referenceTiming({ library, bundles, asOf = null, params = {}, elmDir, valuesets, rounds = 5, fair = false }) {
  const t0 = process.hrtime.bigint();
  const prep = prepare({ library, asOf, elmDir, valuesets });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const docs = bundles.map((b) => JSON.parse(readFileSync(b, "utf8")));
  const samples = docs.map(() => []);
  let errors = 0;
  for (let round = 0; round <= rounds; round++) {
    const source = cqlfhir.PatientSource.FHIRv401();
    source.loadBundles(docs);
    let i = 0;
    for (let patient = source.currentPatient(); patient; patient = source.nextPatient(), i++) {
      const start = process.hrtime.bigint();
      rememberFunctions = fair;
      const row = fair ? await evaluateShared(prep, patient, params) : await evaluatePatient(prep, patient, params, false);
      rememberFunctions = false;
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (round > 0) samples[i].push(ms);
      else errors += Object.values(row).filter((v) => v && v.type === "Error").length;
    }
  }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : null; };
  return { loadMs, perPatientMs: samples.map(median), erroredDefines: errors, defines: prep.names.length };
}

// --- comparing (ENCODING.md "Comparing") ------------------------------------------------------

const isNum = (x) => typeof x === "number";
const isErr = (x) => x && typeof x === "object" && !Array.isArray(x) && x.type === "Error";

export function compareResults(ours, theirs, unordered = false, path = "$", out = []) {
  if (isErr(ours) && isErr(theirs)) return out;
  if (isErr(ours) !== isErr(theirs)) {
    out.push(`${path}: ours ${JSON.stringify(ours)}, theirs ${JSON.stringify(theirs)}`);
    return out;
  }
  if (isNum(ours) && isNum(theirs)) {
    if (ours !== theirs && Math.abs(ours - theirs) > 1e-8 * Math.max(Math.abs(ours), Math.abs(theirs))) {
      out.push(`${path}: ours ${ours}, theirs ${theirs}`);
    }
    return out;
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    if (unordered) {
      const rest = [...theirs];
      const ok = ours.length === theirs.length && ours.every((x) => {
        const i = rest.findIndex((y) => compareResults(x, y, true).length === 0);
        if (i < 0) return false;
        rest.splice(i, 1);
        return true;
      });
      if (!ok) out.push(`${path}: lists differ (unordered)`);
      return out;
    }
    if (ours.length !== theirs.length) out.push(`${path}: ours has ${ours.length} items, theirs ${theirs.length}`);
    for (let i = 0; i < Math.min(ours.length, theirs.length); i++) compareResults(ours[i], theirs[i], unordered, `${path}[${i}]`, out);
    return out;
  }
  if (ours && theirs && typeof ours === "object" && typeof theirs === "object" && !Array.isArray(ours) && !Array.isArray(theirs)) {
    for (const k of [...new Set([...Object.keys(ours), ...Object.keys(theirs)])].sort()) {
      if (!(k in ours)) out.push(`${path}.${k}: missing in ours`);
      else if (!(k in theirs)) out.push(`${path}.${k}: missing in theirs`);
      else compareResults(ours[k], theirs[k], unordered, `${path}.${k}`, out);
    }
    return out;
  }
  if (ours !== theirs) out.push(`${path}: ours ${JSON.stringify(ours)}, theirs ${JSON.stringify(theirs)}`);
  return out;
}

function defaultBundles() {
  const dir = join(CHECKOUT_DIR, "fhir_examples");
  if (!existsSync(dir)) return [];
  const out = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".json")).sort()) {
    try {
      const doc = JSON.parse(readFileSync(join(dir, f), "utf8"));
      if (doc && doc.resourceType === "Bundle" && (doc.entry || []).some((e) => e.resource && e.resource.resourceType === "Patient")) {
        out.push(join(dir, f));
      }
    } catch { /* not JSON: not a bundle */ }
  }
  return out;
}

function librariesWithPatientDefines(elmDir) {
  const libs = loadElmDir(elmDir);
  return Object.keys(libs).filter((name) => name !== "FHIRHelpers" && (libs[name].library.statements?.def || [])
    .some((d) => d.type !== "FunctionDef" && d.context === "Patient"));
}

// --- the comparison ---------------------------------------------------------------------------

function pythonExecutable() {
  const venv = join(CHECKOUT_DIR, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

// Runs a command; resolves with its stdout, rejects with its stderr on a non-zero exit.
function runProcess(command, args, what) {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    const err = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => err.push(d));
    child.on("error", fail);
    child.on("close", (code) => {
      if (code === 0) ok(Buffer.concat(out).toString("utf8"));
      else fail(new Error(`${what} failed (exit ${code}): ${Buffer.concat(err).toString("utf8").trim().slice(0, 2000)}`));
    });
  });
}

function commonArgs(opts) {
  const args = ["--elm-dir", opts.elmDir, "--valuesets", opts.valuesets];
  if (opts.asOf) args.push("--as-of", opts.asOf);
  for (const p of opts.params) args.push("--param", p);
  return args;
}

// Our engine over all libraries in one process: {library: {patient: row}}.
async function oursRunAll(opts, libraries) {
  const args = ["-m", "trd_cds.cql_tools.tool", "run", ...commonArgs(opts)];
  for (const library of libraries) args.push("--library", library);
  args.push("--by-library", "--bundle", ...opts.bundles);
  return JSON.parse(await runProcess(pythonExecutable(), args, "our engine"));
}

// The reference engine in `jobs` processes, each over every libraries and a share of the bundles.
async function theirsRunAll(opts, libraries) {
  const jobs = Math.max(1, Math.min(opts.jobs, opts.bundles.length));
  const shares = Array.from({ length: jobs }, (_, j) => opts.bundles.filter((_, i) => i % jobs === j));
  const script = new URL(import.meta.url).pathname;
  const outputs = await Promise.all(shares.map((share) => {
    const args = ["--max-old-space-size=4096", script, "--worker", ...commonArgs(opts)];
    for (const library of libraries) args.push("--library", library);
    return runProcess(process.execPath, [...args, "--bundles", ...share], "cql-execution");
  }));
  const merged = Object.fromEntries(libraries.map((name) => [name, {}]));
  for (const text of outputs) {
    for (const [library, rows] of Object.entries(JSON.parse(text))) Object.assign(merged[library], rows);
  }
  return merged;
}

function manifestAsOf() {
  const file = join(CHECKOUT_DIR, "fhir_examples", "manifest.json");
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, "utf8")).asOf || null;
}

async function generateCorpus(opts) {
  const dir = join(CHECKOUT_DIR, ".build", "corpus");
  const args = [join(CQL_DIR, "tools", "gen_corpus.py"), dir, "--patients", String(opts.corpus),
    "--seed", String(opts.seed)];
  if (opts.asOf) args.push("--as-of", opts.asOf);
  await runProcess(pythonExecutable(), args, "gen_corpus.py");
  return readdirSync(dir).filter((f) => /^corpus-(partial-)?\d+\.json$/.test(f)).sort().map((f) => join(dir, f));
}

// Documented differences. A path entry names the patients (or "*"), the libraries (or "*") and
// regular expressions over the difference path after "$.<patient>." that it explains. A
// "sortedBy" entry explains, for any patient, a list define (regular expression "defines")
// whose items are the same on both sides but in another order, when ours is sorted by those
// keys as the CQL asks and the reference's list is not.
export function loadDifferences(file) {
  if (!existsSync(file)) return [];
  return prepareDifferences(JSON.parse(readFileSync(file, "utf8")).differences || []);
}

export function prepareDifferences(entries) {
  return entries.map((d) => ({ ...d, regexes: (d.paths || []).map((p) => new RegExp(p)),
    defineRegex: d.defines ? new RegExp(d.defines) : null, seen: 0 }));
}

const sortKey = (v) => (v && typeof v === "object" && "value" in v ? v.value : v);

function keyOrder(a, b, keys) {
  for (const k of keys) {
    const x = sortKey(a[k]);
    const y = sortKey(b[k]);
    if (x === y) continue;
    if (x == null) return -1;
    if (y == null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

const isSortedBy = (list, keys) => Array.isArray(list)
  && list.every((x, i) => i === 0 || keyOrder(list[i - 1], x, keys) <= 0);

function orderExplainedBy(entries, library, define, ours, theirs) {
  return entries.find((e) => e.sortedBy && e.defineRegex && e.defineRegex.test(define)
    && (e.libraries || ["*"]).some((l) => l === "*" || l === library)
    && compareResults(ours, theirs, true).length === 0
    && isSortedBy(ours, e.sortedBy) && !isSortedBy(theirs, e.sortedBy));
}

// A "tieOf" entry explains Last(source sort by key).field picking another of the items tied on
// the latest key: verified per patient and define (the source lists agree, several items share
// the latest key, and each engine's value is one of theirs). Its "paths" then explain what
// follows from that value, for the patients where a tie was verified.
function findTies(entry, ours, theirs) {
  const t = entry.tieOf;
  entry.verified = new Set();
  entry.tiedPatients = new Set();
  const o = ours[t.library] || {};
  const th = theirs[t.library] || {};
  const same = (x, y) => compareResults(x, y).length === 0;
  for (const patient of Object.keys(o)) {
    const source = o[patient][t.source];
    if (!Array.isArray(source) || !th[patient] || !same(source, th[patient][t.source])) continue;
    for (const [define, field] of Object.entries(t.values)) {
      const mine = o[patient][define];
      const other = th[patient][define];
      if (same(mine, other)) continue;
      const items = source.filter((x) => x[field] != null);
      const latest = items.map((x) => sortKey(x[t.sortKey])).sort().pop();
      const tied = items.filter((x) => sortKey(x[t.sortKey]) === latest).map((x) => x[field]);
      if (tied.length > 1 && tied.some((x) => same(x, mine)) && tied.some((x) => same(x, other))) {
        entry.verified.add(`${patient}|${define}`);
        entry.tiedPatients.add(patient);
      }
    }
  }
}

function documentedBy(entries, library, patient, diff) {
  const path = diff.split(": ")[0].slice(`$.${patient}.`.length);
  const define = path.split(/[.[]/)[0];
  const explains = (e) => {
    if (e.sortedBy || !(e.libraries || ["*"]).some((l) => l === "*" || l === library)) return false;
    if (e.tieOf && library === e.tieOf.library && define in e.tieOf.values) {
      return e.verified.has(`${patient}|${define}`);
    }
    if (e.tieOf && !e.tiedPatients.has(patient)) return false;
    return (e.patients || ["*"]).some((p) => p === "*" || p === patient) && e.regexes.some((r) => r.test(path));
  };
  return entries.find(explains);
}

// Compares define by define; prints every undocumented difference and the counts.
export function compareAll(ours, theirs, libraries, entries, unordered, write, showDocumented = false) {
  const totals = { values: 0, differing: 0, documented: 0, undocumented: 0, patients: new Set() };
  for (const e of entries) if (e.tieOf) findTies(e, ours, theirs);
  for (const library of libraries) {
    const o = ours[library] || {};
    const t = theirs[library] || {};
    const counts = { values: 0, documented: 0, undocumented: 0 };
    for (const patient of [...new Set([...Object.keys(o), ...Object.keys(t)])].sort()) {
      totals.patients.add(patient);
      const orow = o[patient] || {};
      const trow = t[patient] || {};
      for (const define of [...new Set([...Object.keys(orow), ...Object.keys(trow)])].sort()) {
        counts.values += 1;
        const path = `$.${patient}.${define}`;
        const diffs = !(define in orow) ? [`${path}: missing in ours`]
          : !(define in trow) ? [`${path}: missing in theirs`]
            : compareResults(orow[define], trow[define], unordered, path);
        if (diffs.length === 0) continue;
        const reordered = orderExplainedBy(entries, library, define, orow[define], trow[define]);
        if (reordered) {
          if (showDocumented) write(`${library} ${path}: documented (${reordered.id})\n`);
          reordered.seen += 1;
          counts.documented += 1;
          continue;
        }
        const used = new Set();
        const unexplained = diffs.filter((d) => {
          const entry = documentedBy(entries, library, patient, d);
          if (entry) used.add(entry);
          return !entry;
        });
        if (unexplained.length) {
          counts.undocumented += 1;
          for (const d of unexplained.slice(0, 20)) write(`${library} ${d}\n`);
          if (unexplained.length > 20) write(`${library} ${path}: ... ${unexplained.length - 20} more\n`);
        } else {
          counts.documented += 1;
          for (const entry of used) entry.seen += 1;
          if (showDocumented) write(`${library} ${path}: documented (${[...used].map((e) => e.id).join(", ")})\n`);
        }
      }
    }
    write(`${library}: ${counts.values} values, ${counts.undocumented} undocumented and `
      + `${counts.documented} documented difference(s)\n`);
    totals.values += counts.values;
    totals.documented += counts.documented;
    totals.undocumented += counts.undocumented;
  }
  return totals;
}

async function check(opts) {
  if (!opts.asOf) opts.asOf = manifestAsOf();
  const started = Date.now();
  let corpusSize = 0;
  if (opts.bundles.length === 0) {
    opts.bundles = defaultBundles();
    if (opts.corpus > 0) {
      const corpus = await generateCorpus(opts);
      corpusSize = corpus.length;
      opts.bundles.push(...corpus);
    }
  }
  const libraries = opts.libraries.length ? opts.libraries : librariesWithPatientDefines(opts.elmDir);
  if (opts.bundles.length === 0 || libraries.length === 0) {
    process.stdout.write(`compare: nothing to compare (${libraries.length} libraries, ${opts.bundles.length} bundles)\n`);
    return 0;
  }
  process.stdout.write(`compare: ${libraries.length} libraries over ${opts.bundles.length} bundles `
    + `(${opts.bundles.length - corpusSize} given or examples, ${corpusSize} generated, seed ${opts.seed}), `
    + `as of ${opts.asOf || "today"}, ${Math.min(opts.jobs, opts.bundles.length)} reference process(es)\n`);
  const [ours, theirs] = await Promise.all([oursRunAll(opts, libraries), theirsRunAll(opts, libraries)]);
  const entries = loadDifferences(opts.differences);
  const totals = compareAll(ours, theirs, libraries, entries, opts.unordered, (t) => process.stdout.write(t),
    opts.showDocumented);
  for (const e of entries) {
    if (e.seen) process.stdout.write(`documented ${e.id} (${e.cqlSpec}): ${e.seen} value(s)\n`);
    else if ((e.patients || []).some((p) => totals.patients.has(p))) {
      process.stdout.write(`note: documented difference ${e.id} did not occur (remove it if it is gone for good)\n`);
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`compare: ${totals.values} values compared over ${totals.patients.size} patients, `
    + `${totals.undocumented + totals.documented} differing, ${totals.documented} documented, `
    + `${totals.undocumented} undocumented (${seconds} s)\n`);
  return totals.undocumented ? 1 : 0;
}

async function main(argv) {
  const opts = parseArgs(argv);
  const params = {};
  for (const p of opts.params) {
    const i = p.indexOf("=");
    if (i <= 0) throw new Error(`--param expects NAME=JSON, got ${p}`);
    // cql-execution keys parameters by plain name for every library; 'Library.Name' (our
    // engine's form for an included library's parameter) is given by its plain name.
    params[p.slice(0, i).split(".").pop()] = decodeParam(JSON.parse(p.slice(i + 1)));
  }
  if (opts.timing) {
    const timing = await referenceTiming({ library: opts.libraries[0], bundles: opts.bundles,
      asOf: opts.asOf, params, elmDir: opts.elmDir, valuesets: opts.valuesets, rounds: opts.timing,
      fair: Boolean(opts.fair) });
    process.stdout.write(JSON.stringify(timing) + "\n");
    return 0;
  }
  if (opts.worker) {
    const results = await referenceRunAll({ libraries: opts.libraries, bundles: opts.bundles,
      asOf: opts.asOf, params, elmDir: opts.elmDir, valuesets: opts.valuesets });
    process.stdout.write(JSON.stringify(results) + "\n");
    return 0;
  }
  if (opts.check) return check(opts);
  if (opts.libraries.length !== 1 || opts.bundles.length === 0) {
    process.stderr.write("usage: reference-run.mjs --library NAME --bundles FILE... [--check]\n");
    return 2;
  }
  const results = await referenceRun({ library: opts.libraries[0], bundles: opts.bundles,
    asOf: opts.asOf, params, elmDir: opts.elmDir, valuesets: opts.valuesets });
  const text = JSON.stringify(results, null, 2) + "\n";
  if (opts.output) writeFileSync(opts.output, text); else process.stdout.write(text);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e) => { process.stderr.write(`reference-run: ${e && e.stack || e}\n`); process.exitCode = 2; },
  );
}
