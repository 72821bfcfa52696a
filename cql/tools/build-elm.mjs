#!/usr/bin/env node
// Compiles every cql/*.cql into cql/elm/<Library>.json with the reference translator.
//
//   node cql/tools/build-elm.mjs            (re)write cql/elm/*.json
//   node cql/tools/build-elm.mjs --check    translate in memory; exit 1 naming every stale,
//                                           missing or orphaned ELM file (and a FHIRHelpers.cql
//                                           that its generator would no longer write)
//
// Output is pretty-printed with a fixed key order ("type" first, then alphabetical) and a
// trailing newline, so a change in the CQL shows up as a small, readable diff in the ELM.
// Any translation error fails the build with "file:line:column: message".

import { readFileSync, writeFileSync, readdirSync, existsSync, mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CQL_DIR, CHECKOUT_DIR, createTranslator } from "./translate.mjs";
import { fhirHelpersIsCurrent } from "./gen-fhirhelpers.mjs";

const ELM_DIR = join(CQL_DIR, "elm");
const LEADING_KEYS = ["type", "name", "localId", "locator"];

function orderKeys(value) {
  if (Array.isArray(value)) return value.map(orderKeys);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  const lead = LEADING_KEYS.filter((k) => k in value);
  const rest = keys.filter((k) => !LEADING_KEYS.includes(k)).sort();
  const out = {};
  for (const k of [...lead, ...rest]) out[k] = orderKeys(value[k]);
  return out;
}

export function formatElm(elm) {
  return JSON.stringify(orderKeys(elm), null, 2) + "\n";
}

export function buildAll() {
  const translator = createTranslator({ libDir: CQL_DIR });
  const outputs = new Map();
  const failures = [];
  const sources = readdirSync(CQL_DIR).filter((f) => f.endsWith(".cql")).sort();
  for (const f of sources) {
    const file = join(CQL_DIR, f);
    const shown = relative(CHECKOUT_DIR, file);
    const r = translator.translate(readFileSync(file, "utf8"));
    if (!r.ok) {
      for (const e of r.errors) {
        const where = e.line != null ? `${e.line}:${e.column}` : "?:?";
        const lib = e.library ? ` (in ${e.library})` : "";
        failures.push(`${shown}:${where}: ${e.message}${lib}`);
      }
      continue;
    }
    const name = r.elm.library.identifier.id;
    if (outputs.has(name)) {
      failures.push(`${shown}: library ${name} is also declared in ${outputs.get(name).source}`);
      continue;
    }
    outputs.set(name, { source: shown, text: formatElm(r.elm) });
  }
  return { outputs, failures };
}

function main(argv) {
  const check = argv.includes("--check");
  const { outputs, failures } = buildAll();
  if (failures.length > 0) {
    for (const f of failures) process.stderr.write(`${f}\n`);
    process.stderr.write(`build-elm: ${failures.length} translation error(s)\n`);
    return 1;
  }
  if (check) {
    const stale = [];
    if (!fhirHelpersIsCurrent()) stale.push("cql/FHIRHelpers.cql (differs from cql/tools/gen-fhirhelpers.mjs output)");
    for (const [name, { source, text }] of outputs) {
      const target = join(ELM_DIR, `${name}.json`);
      const current = existsSync(target) ? readFileSync(target, "utf8") : null;
      if (current === null) stale.push(`cql/elm/${name}.json (missing; from ${source})`);
      else if (current !== text) stale.push(`cql/elm/${name}.json (differs from ${source})`);
    }
    if (existsSync(ELM_DIR)) {
      for (const f of readdirSync(ELM_DIR)) {
        if (f.endsWith(".json") && !outputs.has(f.slice(0, -5))) {
          stale.push(`cql/elm/${f} (no cql/*.cql declares library ${f.slice(0, -5)})`);
        }
      }
    }
    if (stale.length > 0) {
      for (const s of stale) process.stderr.write(`stale: ${s}\n`);
      process.stderr.write("build-elm: out of date; run `node cql/tools/gen-fhirhelpers.mjs` (FHIRHelpers) and `make elm`, then commit\n");
      return 1;
    }
    process.stdout.write(`build-elm: ${outputs.size} ELM file(s) up to date\n`);
    return 0;
  }
  mkdirSync(ELM_DIR, { recursive: true });
  for (const [name, { text }] of outputs) {
    const target = join(ELM_DIR, `${name}.json`);
    const current = existsSync(target) ? readFileSync(target, "utf8") : null;
    if (current !== text) writeFileSync(target, text);
  }
  process.stdout.write(`build-elm: wrote ${outputs.size} ELM file(s) to cql/elm\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
