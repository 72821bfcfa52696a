"""`trd-cds`: serve the API, evaluate a Bundle from the command line, or run the CQL tools."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson


def _serve(args: argparse.Namespace) -> int:

    from trd_cds.logging_setup import configure_logging
    from trd_cds.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    metrics_dir: str | None = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes: their metrics meet in files so /metrics adds them up.
        metrics_dir = tempfile.mkdtemp(prefix="trd-cds-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    if settings.launch_key is None:
        # One launch key for every worker, or a page's fetch reaching another worker than the
        # one that made its link would be refused.
        from trd_cds.timeline.handle import new_key

        os.environ["TRD_LAUNCH_KEY"] = new_key()
    try:
        _run_uvicorn(args)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _run_uvicorn(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "trd_cds.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


async def _evaluate_file(path: Path, as_of_text: str | None) -> tuple[int, dict[str, Any]]:
    """The /evaluate answer for a Bundle file, by the same evaluation as the service's (its
    rules, crisis rule, cards and embedded cache), without an HTTP app around it."""
    from trd_cds.api.as_of import parse_as_of
    from trd_cds.api.evaluation import AssessmentUnavailable, evaluation_answer
    from trd_cds.api.metrics import Metrics
    from trd_cds.fhir.bundle import parse_bundle
    from trd_cds.fhir.outcome import FhirInputError, Issue, operation_outcome
    from trd_cds.settings import Settings
    from trd_cds.wiring import input_limits, load_rules, make_evaluator, memory_cache

    settings = Settings()
    metrics = Metrics()
    evaluator = make_evaluator(settings, memory_cache(settings, metrics), metrics)
    limits = input_limits(settings)
    try:
        as_of = parse_as_of(as_of_text)
        patient = parse_bundle(path.read_bytes(), limits)
        evaluator.rules = load_rules(settings)
        return 0, await evaluation_answer(evaluator, patient, as_of)
    except FhirInputError as exc:
        return 2, exc.outcome()
    except AssessmentUnavailable as exc:
        return 3, operation_outcome(
            Issue(f"assessment unavailable ({exc.reason})", code="transient")
        )
    finally:
        evaluator.close()


def _evaluate(args: argparse.Namespace) -> int:
    code, answer = asyncio.run(_evaluate_file(Path(args.bundle), args.as_of))
    sys.stdout.buffer.write(orjson.dumps(answer, option=orjson.OPT_INDENT_2) + b"\n")
    return code


def _screen(args: argparse.Namespace) -> int:
    try:
        from trd_cds.screen.command import print_summary, screen
        from trd_cds.screen.outputs import RunMismatch
    except ImportError as exc:
        sys.stderr.write(f"trd-cds screen needs the extra 'screen' ({exc.name} is missing): "
                         "pip install 'trd-cds[screen]'\n")
        return 2

    out = Path(args.out)
    try:
        run = screen(Path(args.input), out, date.fromisoformat(args.as_of), engine=args.engine,
                     processes=args.processes, include_ids=args.include_ids,
                     show_progress=not args.quiet, spark_master=args.spark_master)
    except (RunMismatch, FileNotFoundError) as exc:
        sys.stderr.write(f"trd-cds screen: {exc}\n")
        return 2
    print_summary(run, out)
    return 0


def _cql(argv: list[str]) -> int:
    tool: Any = importlib.import_module("trd_cds.engine.tool")
    result = tool.main(argv)
    return int(result or 0)


def _date(text: str) -> str:
    date.fromisoformat(text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "cql":
        # Everything after `cql` belongs to the engine's own command line.
        return _cql(args_list[1:])
    parser = argparse.ArgumentParser(prog="trd-cds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    evaluate = commands.add_parser(
        "evaluate", help="evaluate a FHIR Bundle file, print the /evaluate JSON"
    )
    evaluate.add_argument("bundle")
    evaluate.add_argument("--as-of", type=_date, default=None, help="evaluation date, YYYY-MM-DD")
    screen = commands.add_parser(
        "screen", help="evaluate every patient of a Bulk FHIR export or a folder of Bundles"
    )
    screen.add_argument("input", help="folder of NDJSON (.ndjson, .ndjson.gz) or Bundle files")
    screen.add_argument("--as-of", type=_date, required=True, help="evaluation date, YYYY-MM-DD")
    screen.add_argument("--out", required=True, help="output folder (a rerun resumes in it)")
    screen.add_argument("--engine", choices=("local", "spark"), default="local")
    screen.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="local engine: worker processes (default: one per core)")
    screen.add_argument("--spark-master", default=None,
                        help="spark engine: master URL (default: spark-submit's, else local[*])")
    screen.add_argument("--include-ids", action="store_true",
                        help="list patient ids by group in report.html")
    screen.add_argument("--quiet", action="store_true", help="no progress line")
    commands.add_parser("cql", help="CQL tools of the engine (translate, run, conformance)")
    args = parser.parse_args(args_list)
    if args.command == "serve":
        return _serve(args)
    if args.command == "screen":
        return _screen(args)
    return _evaluate(args)


if __name__ == "__main__":
    raise SystemExit(main())
