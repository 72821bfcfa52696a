"""The ``cql`` command line: conformance suite, running a library over bundles, comparing.

    cql conformance DIR [--baseline FILE] [--update-baseline] [-k FILTER] [--workers N]
    cql run --library NAME [--library NAME ... --by-library] --bundle FILE [--bundle FILE ...]
            [--as-of YYYY-MM-DD] [--param NAME=JSON ...] [--elm-dir cql/elm]
            [--valuesets cql/valuesets]
    cql compare --library NAME --bundles FILE ... [--as-of ...] [--unordered]

``run`` prints the results file of ``../shared/cql-toolchain/ENCODING.md`` (every
Patient-context define of the library for each bundle's patient); with ``--by-library`` it
evaluates several libraries in one go and prints ``{library: results file}``. ``compare`` runs
the same ELM over the same bundles with the reference JS engine (``cql/tools/reference-run.mjs``)
and lists every value that differs (the full comparison of every TRD library over the examples
and a generated corpus, with its documented differences, is ``make compare``:
``node cql/tools/reference-run.mjs --check``). A plain ``--param NAME=JSON`` sets the parameter
NAME of every loaded library that declares it (the TRD thresholds live in TRDConfig);
``Library.NAME`` names one library's. Also runnable as ``python -m trd_cds.cql_tools.tool``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.encoding import compare_results, encode, encode_error

from . import conformance


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cql", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("conformance", help="run the HL7 CQL conformance suite")
    c.add_argument("directory", help="folder of suite XML files (../shared/cql-tests/cql)")
    c.add_argument("--baseline", help="JSON file with the recorded pass count and failures")
    c.add_argument("--update-baseline", action="store_true",
                   help="write the current results to --baseline (and a failures summary)")
    c.add_argument("-k", dest="filter", help="only tests whose Suite.Group.Name contains this "
                   "(case-insensitive; alternatives separated by '|')")
    c.add_argument("--workers", type=int, default=None, help="translator processes")
    c.add_argument("-v", "--verbose", action="store_true", help="print every failure")
    c.add_argument("--no-cache", action="store_true",
                   help="translate every test again instead of reusing .build/ translations")

    for name, help_text in (("run", "evaluate a library over patient bundles"),
                            ("compare", "compare our results with the reference JS engine")):
        r = sub.add_parser(name, help=help_text)
        if name == "run":
            r.add_argument("--library", dest="libraries", action="append", required=True,
                           help="library name; repeat it with --by-library")
            r.add_argument("--by-library", action="store_true",
                           help="print {library: results} (needed for more than one --library)")
        else:
            r.add_argument("--library", required=True)
        r.add_argument("--bundle", "--bundles", dest="bundles", nargs="+", action="extend",
                       required=True, help="FHIR Bundle JSON file(s), one patient each")
        r.add_argument("--as-of", dest="as_of", help="evaluation date YYYY-MM-DD (default today)")
        r.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                       help="library parameter value (JSON; see the encoding for typed values)")
        r.add_argument("--elm-dir", default=None, help="ELM folder (default cql/elm)")
        r.add_argument("--valuesets", default=None, help="ValueSet JSON folder (default cql/valuesets)")
        r.add_argument("--output", "-o", help="write the results file here instead of stdout")
        if name == "compare":
            r.add_argument("--unordered", action="store_true", help="compare lists as multisets")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command == "conformance":
        return _conformance(args)
    from trd_cds.engine.errors import CqlError
    try:
        if args.command == "run":
            if len(args.libraries) > 1 and not args.by_library:
                raise ValueError("several --library need --by-library")
            results = _run_libraries(args)
            _write_json(results if args.by_library else results[args.libraries[0]], args.output)
            return 0
        if args.command == "compare":
            return _compare(args)
    except (CqlError, OSError, ValueError) as exc:  # bad ELM, files or arguments: no traceback
        print(f"cql {args.command}: {exc}", file=sys.stderr)
        return 2
    return 2


# --- conformance -----------------------------------------------------------------------------

def _conformance(args: argparse.Namespace) -> int:
    tests = conformance.select(conformance.load_suites(args.directory), args.filter)
    if not tests:
        print(f"no tests found in {args.directory}", file=sys.stderr)
        return 2
    cache = None if args.no_cache else conformance.default_cache_file()
    try:
        report = conformance.run(tests, workers=args.workers, cache_file=cache,
                                 progress=lambda m: print(m, file=sys.stderr, flush=True))
    except (OSError, RuntimeError) as exc:  # no Node, no node_modules, translator crash
        print(f"cql conformance: cannot translate the suite: {exc}", file=sys.stderr)
        return 2
    width = max(len(s) for s in report.per_suite())
    for suite, (ok, bad) in sorted(report.per_suite().items()):
        print(f"{suite:<{width}}  {ok:4d} passed  {bad:4d} failed")
    print("")
    print("failure classes:")
    for category, n in report.categories().most_common():
        print(f"  {n:4d}  {category}")
    if args.verbose:
        for name, reason in report.failures().items():
            print(f"FAIL {name}: {reason}")
    print(f"(translation {report.translate_seconds:.1f} s, evaluation {report.evaluate_seconds:.1f} s)")

    code = 0
    if args.baseline:
        if args.update_baseline:
            conformance.write_baseline(args.baseline, report)
            failures_file = Path(args.baseline).with_name("conformance_failures.md")
            failures_file.write_text(conformance.failures_text(report) + "\n", encoding="utf-8")
            print(f"baseline written: {args.baseline} ({report.passed} passed); "
                  f"failures by class: {failures_file}")
        elif args.filter:
            print("baseline not checked: -k selects part of the suite")
        else:
            code = _check_baseline(args.baseline, report)
    print(f"conformance: {report.passed} passed, {report.failed} failed")
    return code


def _check_baseline(path: str, report: conformance.Report) -> int:
    baseline = conformance.read_baseline(path)
    if baseline is None:
        print(f"no baseline at {path}; run with --update-baseline to record one")
        return 0
    recorded = int(baseline.get("passed", 0))
    known = baseline.get("failures", {})
    newly_failing = sorted(n for n in report.failures() if n not in known)
    if newly_failing:
        print(f"{len(newly_failing)} test(s) fail that the baseline records as passing:")
        for name in newly_failing[:50]:
            print(f"  {name}: {report.failures()[name]}")
    if report.passed < recorded:
        print(f"REGRESSION: {report.passed} passed, baseline {recorded}")
        return 1
    if report.passed > recorded:
        print(f"improved: {report.passed} passed, baseline {recorded} "
              "(record it with --update-baseline)")
    return 0


# --- run / compare ---------------------------------------------------------------------------

def _default_dir(given: str | None, *parts: str) -> Path:
    return Path(given) if given else conformance.checkout_dir().joinpath(*parts)


def decode_value(v: Any) -> Any:
    """A parameter value from its canonical JSON form (the inverse of ``encoding.encode``).

    JSON integers are Integers and other numbers Decimals; typed objects (``{"type": "Date",
    "value": "2024-03-01"}``, Quantity, Interval, Code, Concept, DateTime, Time) are decoded;
    other objects are Tuples.
    """
    from trd_cds.engine.datatypes.temporal import Date, Time
    from trd_cds.engine.datatypes.values import Code, Concept, CqlTuple, Interval, Quantity

    if v is None or isinstance(v, (bool, str, int)):
        return v
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, list):
        return [decode_value(x) for x in v]
    if not isinstance(v, dict):
        raise SystemExit(f"cannot decode parameter value {v!r}")
    kind = v.get("type")
    parsers: dict[str, Callable[[str], Any]] = {"Date": Date.parse, "DateTime": DateTime.parse, "Time": Time.parse}
    if kind in parsers:
        parsed = parsers[kind](str(v.get("value")))
        if parsed is None:
            raise SystemExit(f"not a valid {kind}: {v.get('value')!r}")
        return parsed
    if kind == "Quantity":
        return Quantity(Decimal(str(v["value"])), str(v.get("unit") or "1"))
    if kind == "Interval":
        return Interval(decode_value(v.get("low")), decode_value(v.get("high")),
                        bool(v.get("lowClosed", True)), bool(v.get("highClosed", True)))
    if kind == "Code":
        return Code(v.get("code"), v.get("system"), v.get("version"), v.get("display"))
    if kind == "Concept":
        return Concept(tuple(decode_value(c) for c in v.get("codes", [])), v.get("display"))
    return CqlTuple({k: decode_value(x) for k, x in v.items()})


def _parse_params(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--param expects NAME=JSON, got {item!r}")
        out[name] = decode_value(json.loads(raw))
    return out


def _run_libraries(args: argparse.Namespace) -> dict[str, dict[str, dict[str, Any]]]:
    libraries = args.libraries if hasattr(args, "libraries") else [args.library]
    return evaluate_libraries(
        libraries=libraries,
        bundles=[Path(b) for b in args.bundles],
        elm_dir=_default_dir(args.elm_dir, "cql", "elm"),
        valueset_dir=_default_dir(args.valuesets, "cql", "valuesets"),
        as_of=args.as_of,
        parameters=_parse_params(args.param),
    )


def _run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    return _run_libraries(args)[args.library]


def as_of_now(as_of: str | None) -> DateTime:
    """The evaluation timestamp of a run: the as-of date (default today, UTC) at midnight UTC."""
    day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    return DateTime(day.year, day.month, day.day, 0, 0, 0, 0, Decimal(0))


def evaluate_bundles(*, library: str, bundles: Sequence[Path], elm_dir: Path,
                     valueset_dir: Path | None = None, as_of: str | None = None,
                     parameters: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The results file (ENCODING.md) of every Patient-context define over each bundle."""
    return evaluate_libraries(libraries=[library], bundles=bundles, elm_dir=elm_dir,
                              valueset_dir=valueset_dir, as_of=as_of,
                              parameters=parameters)[library]


def evaluate_libraries(*, libraries: Sequence[str], bundles: Sequence[Path], elm_dir: Path,
                       valueset_dir: Path | None = None, as_of: str | None = None,
                       parameters: dict[str, Any] | None = None
                       ) -> dict[str, dict[str, dict[str, Any]]]:
    """``{library: results file}`` for several libraries; the ELM is loaded and each bundle
    read once."""
    from trd_cds.engine import Engine, FhirDataProvider, ValueSetDirectory

    engine = Engine.from_elm_dir(elm_dir)
    terminology = (ValueSetDirectory.from_directory(valueset_dir)
                   if valueset_dir is not None and valueset_dir.is_dir() else None)
    libs = {name: engine.library(name) for name in libraries}
    parameters = _qualified(engine, parameters or {})
    names = {name: [d for d, entry in lib.defs.items() if entry.context == "Patient"]
             for name, lib in libs.items()}
    now = as_of_now(as_of)
    results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in libraries}
    for path in bundles:
        bundle = json.loads(path.read_bytes())
        patient_id = _patient_id(bundle, path)
        data = FhirDataProvider.from_bundle(bundle)
        for library, lib in libs.items():
            ctx = engine.context(lib, data=data, now=now, parameters=parameters,
                                 terminology=terminology)
            row: dict[str, Any] = {}
            for name in names[library]:
                evaluator = lib.defs[name].evaluator
                try:
                    if evaluator is None:
                        raise RuntimeError(f"define {name} was not compiled")
                    row[name] = encode(evaluator(ctx), default_offset=Decimal(0))
                except Exception as exc:  # one failing define is a value of the results file
                    row[name] = encode_error(exc)
            results[library][patient_id] = row
    return results


def _qualified(engine: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    """A plain NAME also sets the parameter NAME of every loaded library that declares it, as
    in cql-execution: TRD thresholds live in TRDConfig, which the evaluated library includes.
    ``Library.NAME`` stays as given."""
    out = dict(parameters)
    for name, value in parameters.items():
        if "." in name:
            continue
        for lib_name in engine.manager.names():
            if name in engine.library(lib_name).parameters:
                out.setdefault(f"{lib_name}.{name}", value)
    return out


def _patient_id(bundle: dict[str, Any], path: Path) -> str:
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Patient" and isinstance(resource.get("id"), str):
            return str(resource["id"])
    raise SystemExit(f"{path}: the bundle has no Patient resource with an id")


def _compare(args: argparse.Namespace) -> int:
    ours = _run(args)
    script = conformance.checkout_dir() / "cql" / "tools" / "reference-run.mjs"
    cmd = ["node", str(script), "--library", args.library,
           "--elm-dir", str(_default_dir(args.elm_dir, "cql", "elm")),
           "--valuesets", str(_default_dir(args.valuesets, "cql", "valuesets"))]
    if args.as_of:
        cmd += ["--as-of", args.as_of]
    for p in args.param:
        cmd += ["--param", p]
    cmd += ["--bundles", *args.bundles]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr.strip(), file=sys.stderr)
        return 2
    theirs = json.loads(proc.stdout)
    diffs = compare_results(ours, theirs, unordered=args.unordered)
    _write_json(ours, args.output)
    for d in diffs:
        print(d)
    total = sum(len(v) for v in ours.values())
    # A difference path starts with $.<patient>.<define>; count each define value once.
    differing = {tuple(d.split(":", 1)[0].split(".")[1:3]) for d in diffs}
    print(f"compare: {total - len(differing)} of {total} values agree, "
          f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


def _write_json(data: Any, output: str | None) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    raise SystemExit(main())
