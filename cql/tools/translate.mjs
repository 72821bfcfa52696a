#!/usr/bin/env node
// CQL -> ELM JSON with the HL7 reference translator (npm @cqframework/cql, Kotlin/JS build).
//
// Usage (run from anywhere; paths are relative to the current directory):
//   node cql/tools/translate.mjs FILE.cql [FILE.cql ...]   ELM JSON of each file on stdout
//                                                          (one file: the ELM object; several:
//                                                          {"<file>": ELM, ...})
//   node cql/tools/translate.mjs -                         translate CQL text read from stdin
//   node cql/tools/translate.mjs --batch                   JSON lines in, JSON lines out:
//        in : {"id": "any", "cql": "library X ..."}        one request per line
//        out: {"id": "any", "ok": true,  "elm": {...}, "warnings": [...]}
//             {"id": "any", "ok": false, "errors": [{"library","line","column","endLine",
//                                                    "endColumn","severity","message"}, ...]}
//        One Node process serves any number of requests, so callers translate thousands of
//        snippets without paying the start-up cost (about a second) each time.
//   Flags: --pretty (indent the output), --lib-dir DIR (where `include`d libraries are looked
//          up, default: the cql/ folder of the checkout).
// Exit status: 0 on success; 1 when any file fails (errors are printed to stderr as
// "file:line:column: severity: message"); 2 on bad usage. Batch mode always exits 0 and
// reports failures per request.
//
// As a module:
//   import { createTranslator } from "./translate.mjs";
//   const t = createTranslator({ libDir });           // reusable; keeps a compiled-library cache
//   const r = t.translate(cqlText);                   // {ok, elm, errors, warnings, json}
//
// Compiler options (fixed, so every ELM in the project is produced the same way):
//   EnableLocators, EnableResultTypes, EnableDetailedErrors  - the engine relies on result
//       types and locators; detailed errors make failures actionable.
//   DisableListDemotion, DisableListPromotion                - the reference translator's
//       defaults for measure / CDS content (no implicit singleton <-> list conversions).
//   signatureLevel All, annotations off, compatibilityLevel 1.5, validateUnits on,
//   errorLevel Info (all messages are collected; only Error severity fails a translation).
// Models: System from ../shared/cql-toolchain/system-modelinfo.xml (folder overridable with
// $SHARED), FHIR 4.0.1 from cql-exec-fhir's model info. Units are validated with
// @lhncbc/ucum-lhc.

import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join, resolve, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import {
  CqlCompilerOptions,
  CqlTranslator,
  LibraryBuilder,
  LibraryManager,
  ModelManager,
  createLibrarySourceProvider,
  createModelInfoProvider,
  createUcumService,
  stringAsSource,
} from "@cqframework/cql/cql-to-elm";
import ucumPkg from "@lhncbc/ucum-lhc";

// stdout carries ELM / JSON lines only. The Kotlin runtime prints through console.log and
// through a writer bound to whatever process.stdout is at its first print, so route the former
// to stderr and translate while process.stdout points at stderr (the first print, the logger
// start-up banner, happens during some translation).
for (const level of ["log", "info", "debug"]) console[level] = (...args) => console.error(...args);
const stderrWithoutBanner = {
  write(chunk, ...rest) {
    if (String(chunk).startsWith("kotlin-logging: initializing")) return true;
    return process.stderr.write(chunk, ...rest);
  },
};
function withStdoutOnStderr(fn) {
  const original = Object.getOwnPropertyDescriptor(process, "stdout");
  Object.defineProperty(process, "stdout", { value: stderrWithoutBanner, configurable: true, writable: true });
  try {
    return fn();
  } finally {
    Object.defineProperty(process, "stdout", original);
  }
}

const here = dirname(fileURLToPath(import.meta.url));
export const CQL_DIR = resolve(here, "..");
export const CHECKOUT_DIR = resolve(CQL_DIR, "..");
export const SHARED_DIR = process.env.SHARED
  ? resolve(process.env.SHARED)
  : resolve(CHECKOUT_DIR, "..", "shared");
export const SYSTEM_MODELINFO = join(SHARED_DIR, "cql-toolchain", "system-modelinfo.xml");
export const FHIR_MODELINFO = join(
  CQL_DIR, "node_modules", "cql-exec-fhir", "lib", "modelInfos", "fhir-modelinfo-4.0.1.xml",
);

const modelInfoFiles = new Map([
  ["System", SYSTEM_MODELINFO],
  ["FHIR@4.0.1", FHIR_MODELINFO],
  ["FHIR", FHIR_MODELINFO],
]);
const modelInfoCache = new Map();

function loadModelInfo(id, system, version) {
  const key = modelInfoFiles.has(`${id}@${version}`) ? `${id}@${version}` : id;
  const file = modelInfoFiles.get(key);
  if (!file) return null;
  if (!modelInfoCache.has(file)) {
    if (!existsSync(file)) throw new Error(`model info not found: ${file}`);
    modelInfoCache.set(file, readFileSync(file, "utf8"));
  }
  return stringAsSource(modelInfoCache.get(file));
}

let ucumUtils = null;
function ucum() {
  if (!ucumUtils) ucumUtils = ucumPkg.UcumLhcUtils.getInstance();
  return ucumUtils;
}

// The translator only validates units; conversion is provided for completeness. Unit
// arithmetic is an evaluation concern and is not needed to compile.
function makeUcumService() {
  return createUcumService(
    (value, sourceUnit, destUnit) => {
      const r = ucum().convertUnitTo(sourceUnit, Number(value), destUnit);
      if (r.status !== "succeeded") {
        throw new Error(`cannot convert ${sourceUnit} to ${destUnit}: ${(r.msg || []).join("; ")}`);
      }
      return String(r.toVal);
    },
    (unit) => {
      const r = ucum().validateUnitString(unit, true);
      return r.status === "valid" ? null : (r.msg || []).join("; ") || `invalid unit ${unit}`;
    },
    () => { throw new Error("UCUM multiplication is not available at translation time"); },
    () => { throw new Error("UCUM division is not available at translation time"); },
  );
}

export function compilerOptions() {
  const O = CqlCompilerOptions.Options;
  const opts = new CqlCompilerOptions().withOptions([
    O.EnableLocators,
    O.EnableResultTypes,
    O.EnableDetailedErrors,
    O.DisableListDemotion,
    O.DisableListPromotion,
  ]);
  opts.signatureLevel = LibraryBuilder.SignatureLevel.All;
  opts.compatibilityLevel = "1.5";
  opts.validateUnits = true;
  return opts;
}

// Library sources: every cql/*.cql (or libDir/*.cql) indexed by its declared library name.
function indexLibraries(libDir) {
  const index = new Map();
  if (!existsSync(libDir)) return index;
  for (const f of readdirSync(libDir)) {
    if (!f.endsWith(".cql")) continue;
    const file = join(libDir, f);
    const text = readFileSync(file, "utf8");
    const m = /^\s*library\s+("[^"]+"|[A-Za-z_][\w]*)(?:\s+version\s+'([^']*)')?/m.exec(text);
    const name = m ? m[1].replace(/"/g, "") : basename(f, ".cql");
    index.set(name, { file, text, version: m ? m[2] ?? null : null });
  }
  return index;
}

const trackRe = /startLine=(\d+), startChar=(\d+), endLine=(\d+), endChar=(\d+)/;

function describe(exc) {
  const out = {
    library: null, line: null, column: null, endLine: null, endColumn: null,
    severity: exc.severity ? exc.severity.name : "Error",
    message: exc.message || String(exc),
  };
  const loc = exc.locator ? String(exc.locator) : "";
  const m = trackRe.exec(loc);
  if (m) {
    out.line = Number(m[1]);
    out.column = Number(m[2]);
    out.endLine = Number(m[3]);
    out.endColumn = Number(m[4]);
    // The track-back's library field is a VersionedIdentifier (the only member with an id).
    for (const v of Object.values(exc.locator)) {
      if (v && typeof v === "object" && typeof v.id === "string") {
        out.library = v.version ? `${v.id}@${v.version}` : v.id;
        break;
      }
    }
  }
  return out;
}

function ktList(list) {
  const arr = [];
  if (!list) return arr;
  if (typeof list.asJsReadonlyArrayView === "function") return [...list.asJsReadonlyArrayView()];
  if (typeof list.toArray === "function") return [...list.toArray()];
  const it = list.iterator ? list.iterator() : null;
  if (it) while (it.hasNext()) arr.push(it.next());
  return arr;
}

export function createTranslator({ libDir = CQL_DIR } = {}) {
  const libraries = indexLibraries(libDir);
  const sourceProvider = createLibrarySourceProvider((id, _system, version) => {
    const lib = libraries.get(id);
    if (!lib) return null;
    if (version && lib.version && version !== lib.version) return null;
    return stringAsSource(lib.text);
  });
  const ucumService = makeUcumService();

  function newManager() {
    const modelManager = new ModelManager();
    modelManager.modelInfoLoader.registerModelInfoProvider(
      createModelInfoProvider(loadModelInfo), true,
    );
    const libraryManager = new LibraryManager(modelManager, compilerOptions(), undefined, ucumService);
    libraryManager.librarySourceLoader.registerProvider(sourceProvider);
    return libraryManager;
  }
  // One manager keeps included libraries compiled once across calls.
  let manager = newManager();

  function translate(cqlText) {
    let translator;
    try {
      translator = withStdoutOnStderr(() => CqlTranslator.fromText(cqlText, manager));
    } catch (e) {
      // A crash inside the translator may leave the manager's caches half-filled.
      manager = newManager();
      return { ok: false, errors: [describe(e)], warnings: [] };
    }
    const errors = ktList(translator.errors).map(describe);
    const warnings = ktList(translator.warnings).map(describe);
    if (errors.length > 0) return { ok: false, errors, warnings };
    const json = translator.toJson();
    return { ok: true, elm: JSON.parse(json), json, errors: [], warnings };
  }

  return { translate, libraries };
}

function formatError(file, e) {
  const where = e.line != null ? `${e.line}:${e.column}` : "?:?";
  const lib = e.library ? ` [${e.library}]` : "";
  return `${file}:${where}: ${e.severity}${lib}: ${e.message}`;
}

async function runBatch(translator) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      process.stdout.write(JSON.stringify({ id: null, ok: false, errors: [{ message: `bad request: ${e.message}` }] }) + "\n");
      continue;
    }
    let res;
    try {
      const r = translator.translate(String(req.cql ?? ""));
      res = r.ok
        ? { id: req.id ?? null, ok: true, elm: r.elm, warnings: r.warnings }
        : { id: req.id ?? null, ok: false, errors: r.errors, warnings: r.warnings };
    } catch (e) {
      res = { id: req.id ?? null, ok: false, errors: [{ severity: "Error", message: String(e && e.message || e) }] };
    }
    process.stdout.write(JSON.stringify(res) + "\n");
  }
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(argv) {
  let pretty = false;
  let batch = false;
  let libDir = CQL_DIR;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--pretty") pretty = true;
    else if (a === "--batch") batch = true;
    else if (a === "--lib-dir") libDir = resolve(argv[++i] ?? "");
    else if (a === "-h" || a === "--help") {
      process.stdout.write("usage: translate.mjs [--pretty] [--lib-dir DIR] (--batch | - | FILE.cql...)\n");
      return 0;
    } else files.push(a);
  }
  const translator = createTranslator({ libDir });
  if (batch) {
    await runBatch(translator);
    return 0;
  }
  if (files.length === 0) {
    process.stderr.write("usage: translate.mjs [--pretty] [--lib-dir DIR] (--batch | - | FILE.cql...)\n");
    return 2;
  }
  const out = {};
  let failed = false;
  for (const f of files) {
    const text = f === "-" ? await readStdin() : readFileSync(f, "utf8");
    const r = translator.translate(text);
    for (const w of r.warnings) process.stderr.write(formatError(f === "-" ? "<stdin>" : f, w) + "\n");
    if (!r.ok) {
      failed = true;
      for (const e of r.errors) process.stderr.write(formatError(f === "-" ? "<stdin>" : f, e) + "\n");
      continue;
    }
    out[f] = r.elm;
  }
  if (!failed) {
    const value = files.length === 1 ? out[files[0]] : out;
    process.stdout.write(JSON.stringify(value, null, pretty ? 2 : undefined) + "\n");
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e) => { process.stderr.write(`translate: ${e && e.stack || e}\n`); process.exitCode = 1; },
  );
}
