"""Runs the HL7 CQL conformance suite (``../shared/cql-tests/cql/*.xml``) against the engine.

Each test becomes a tiny library whose defines are the test expression (``Result``) and its
expected output (``Expected``, itself a CQL expression). All libraries are translated in one
batch by the reference translator (``cql/tools/translate.mjs --batch``), loaded and evaluated
by our engine, and the two values are compared with a strict, type-aware equivalence
(:func:`same_value`): ``1.0`` is not ``1``, ``@2012-10-06T`` is a DateTime at day precision and
not a Date, lists, tuples and intervals are compared deeply. An expected literal written as
Integer where the expression is declared Decimal is promoted, as CQL would (the declared types
themselves are not enforced: the suite expects ``Power(10, -8)``, declared Integer, to be
``0.00000001``). A test marked ``invalid`` passes only when
translation or evaluation fails. Translator rejections count as failures.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from trd_cds.engine.datatypes.temporal import Date, DateTime, Time
from trd_cds.engine.datatypes.values import (
    Code,
    Concept,
    CqlTuple,
    Interval,
    Quantity,
    Ratio,
    Uncertainty,
)

_NS = "{http://hl7.org/fhirpath/tests}"
RESULT = "Result"
EXPECTED = "Expected"
# A single test should take milliseconds; a runaway loop must not stall the whole suite.
TEST_TIME_LIMIT_S = 10.0


# --- the suite -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ConformanceTest:
    suite: str  # file stem, e.g. 'CqlArithmeticFunctionsTest'
    group: str
    name: str
    expression: str
    outputs: tuple[str, ...]
    invalid: str | None  # None, 'true', 'syntax', 'semantic' or 'execution'
    capabilities: tuple[str, ...] = ()
    mode: str | None = None
    ordered: bool | None = None
    predicate: bool | None = None

    @property
    def full_name(self) -> str:
        return f"{self.suite}.{self.group}.{self.name}"


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() == "true"


def _capabilities(el: ET.Element) -> list[str]:
    out = []
    for cap in el.findall(f"{_NS}capability"):
        code = cap.get("code", "")
        out.append(f"{code}={cap.get('value')}" if cap.get("value") else code)
    return out


def parse_suite(source: str | Path, suite: str | None = None) -> list[ConformanceTest]:
    """The tests of one suite file (or XML text when ``suite`` names it)."""
    if suite is None:
        path = Path(source)
        root = ET.parse(path).getroot()
        suite = path.stem
    else:
        root = ET.fromstring(str(source))
    suite_caps = _capabilities(root)
    tests: list[ConformanceTest] = []
    for group in root.findall(f"{_NS}group"):
        group_caps = _capabilities(group)
        for test in group.findall(f"{_NS}test"):
            expr = test.find(f"{_NS}expression")
            if expr is None:
                continue
            invalid = expr.get("invalid")
            if invalid is not None and invalid.strip().lower() == "false":
                invalid = None
            caps = dict.fromkeys(suite_caps + group_caps + _capabilities(test))
            tests.append(ConformanceTest(
                suite=suite,
                group=group.get("name", ""),
                name=test.get("name", ""),
                expression=(expr.text or "").strip(),
                outputs=tuple((o.text or "").strip() for o in test.findall(f"{_NS}output")),
                invalid=invalid,
                capabilities=tuple(caps),
                mode=test.get("mode"),
                ordered=_flag(test.get("ordered")),
                predicate=_flag(test.get("predicate")),
            ))
    return tests


def load_suites(directory: str | Path) -> list[ConformanceTest]:
    tests: list[ConformanceTest] = []
    for path in sorted(Path(directory).glob("*.xml")):
        tests.extend(parse_suite(path))
    return tests


def select(tests: Iterable[ConformanceTest], pattern: str | None) -> list[ConformanceTest]:
    """``-k``: case-insensitive substring of the full name; several alternatives with '|'."""
    if not pattern:
        return list(tests)
    parts = [p.strip().lower() for p in pattern.split("|") if p.strip()]
    return [t for t in tests if any(p in t.full_name.lower() for p in parts)]


def library_text(test: ConformanceTest, index: int) -> str:
    """The CQL library that holds the test: its expression and (when valid) its output."""
    lines = [f"library ConformanceTest{index} version '1.0.0'", "",
             f'define "{RESULT}":', f"  {test.expression}", ""]
    if test.invalid is None and test.outputs:
        lines += [f'define "{EXPECTED}":', f"  {test.outputs[0]}", ""]
    return "\n".join(lines)


# --- translation -----------------------------------------------------------------------------

def checkout_dir() -> Path:
    """The repository root (the folder holding ``cql/`` and ``service/``)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "cql" / "tools" / "translate.mjs").exists():
            return parent
    return Path.cwd()


@dataclass(slots=True)
class Translation:
    ok: bool
    elm: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def _toolchain_fingerprint(script: Path) -> str:
    """Changes whenever the translator or its pinned packages change."""
    digest = hashlib.sha256(script.read_bytes())
    lock = script.parent.parent / "package-lock.json"
    if lock.exists():
        digest.update(lock.read_bytes())
    return digest.hexdigest()


def translate_cached(texts: Sequence[str], *, cache_file: Path | None,
                     workers: int | None = None) -> list[Translation]:
    """:func:`translate_batch`, reusing earlier translations of the same text and toolchain."""
    script = checkout_dir() / "cql" / "tools" / "translate.mjs"
    if cache_file is None:
        return translate_batch(texts, workers=workers, translator=script)
    fingerprint = _toolchain_fingerprint(script)
    keys = [hashlib.sha256((fingerprint + t).encode()).hexdigest() for t in texts]
    cache: dict[str, Any] = {}
    if cache_file.exists():
        try:
            cache = json.loads(cache_file.read_bytes())
        except ValueError:
            cache = {}
    todo = [i for i, k in enumerate(keys) if k not in cache]
    fresh = translate_batch([texts[i] for i in todo], workers=workers, translator=script)
    for i, tr in zip(todo, fresh, strict=True):
        cache[keys[i]] = {"ok": tr.ok, "elm": tr.elm, "errors": tr.errors}
    if fresh:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        wanted = set(keys)  # keep only what this suite uses, so the file cannot grow forever
        cache_file.write_text(json.dumps({k: v for k, v in cache.items() if k in wanted}))
    return [Translation(bool(cache[k]["ok"]), cache[k]["elm"], list(cache[k]["errors"]))
            for k in keys]


def translate_batch(texts: Sequence[str], *, workers: int | None = None,
                    translator: Path | None = None) -> list[Translation]:
    """Translate many CQL texts through a few long-lived Node processes (JSON lines)."""
    script = translator or checkout_dir() / "cql" / "tools" / "translate.mjs"
    if not texts:
        return []
    # Two processes already keep a small machine busy; more mostly add start-up cost.
    n = max(1, min(workers or os.cpu_count() or 1, 2, len(texts)))
    chunks = [list(range(i, len(texts), n)) for i in range(n)]
    procs = []
    for chunk in chunks:
        payload = "".join(json.dumps({"id": i, "cql": texts[i]}) + "\n" for i in chunk)
        proc = subprocess.Popen(["node", str(script), "--batch"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append((proc, payload))
    results: list[Translation | None] = [None] * len(texts)
    # One thread per process feeds and drains it, so no pipe can fill up and stall.
    def run(proc: subprocess.Popen[str], payload: str, sink: list[str]) -> None:
        out, err = proc.communicate(payload)
        sink.extend([out, err])

    sinks: list[list[str]] = [[] for _ in procs]
    threads = [threading.Thread(target=run, args=(p, pl, s)) for (p, pl), s in zip(procs, sinks, strict=False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (proc, _), (out, err) in zip(procs, sinks, strict=False):
        if proc.returncode != 0:
            raise RuntimeError(f"translator exited with {proc.returncode}: {err.strip()[:500]}")
        for line in out.splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            results[int(r["id"])] = Translation(bool(r.get("ok")), r.get("elm"),
                                                list(r.get("errors") or []))
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise RuntimeError(f"translator gave no answer for {len(missing)} request(s)")
    return [r for r in results if r is not None]


# --- evaluation ------------------------------------------------------------------------------

# Load one ELM library dict and evaluate the named defines; each value is the define's result
# or the exception its evaluation raised.
Evaluate = Callable[[dict[str, Any], Sequence[str], DateTime], dict[str, Any]]


def engine_evaluate() -> Evaluate:
    """The engine's public API adapted to the runner's one function."""
    from trd_cds.engine import Engine

    def evaluate(elm: dict[str, Any], names: Sequence[str], now: DateTime) -> dict[str, Any]:
        engine = Engine.from_elm([elm])
        library = elm["library"]["identifier"]["id"]
        out: dict[str, Any] = {}
        for name in names:
            try:
                out[name] = engine.evaluate(library, expressions=[name], now=now)[name]
            except Exception as exc:  # each define's failure is a test outcome, not a crash
                out[name] = exc
        return out

    return evaluate


class _TimeLimit(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Abort a runaway evaluation (main thread on POSIX only; elsewhere no limit)."""
    usable = hasattr(signal, "setitimer") and _is_main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _TimeLimit(f"evaluation took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _is_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


# --- comparing results -----------------------------------------------------------------------

def _precision_key(v: Date | DateTime | Time) -> tuple[bool, ...]:
    names = {Date: ("year", "month", "day"),
             DateTime: ("year", "month", "day", "hour", "minute", "second", "millisecond"),
             Time: ("hour", "minute", "second", "millisecond")}[type(v)]
    return tuple(getattr(v, n) is not None for n in names)


def _utc_components(v: DateTime, default_offset: Decimal) -> tuple[int | None, ...]:
    """The DateTime's components moved to UTC (components below its precision stay None)."""
    offset = v.offset if v.offset is not None else default_offset
    if v.hour is None:
        return (v.year, v.month, v.day)
    moment = datetime(v.year, v.month or 1, v.day or 1, v.hour, v.minute or 0, v.second or 0,
                      (v.millisecond or 0) * 1000,
                      tzinfo=timezone(timedelta(hours=float(offset))))
    utc = moment.astimezone(UTC)
    full = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
            utc.microsecond // 1000)
    present = _precision_key(v)
    return tuple(c if p else None for c, p in zip(full, present, strict=False))


def same_value(a: Any, b: Any, default_offset: Decimal = Decimal(0)) -> bool:
    """Deep, type-aware equality of an evaluated result and its expected value."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if type(a) is int or type(b) is int:
        return type(a) is type(b) and a == b
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return isinstance(a, Decimal) and isinstance(b, Decimal) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    if isinstance(a, (Date, DateTime, Time)) or isinstance(b, (Date, DateTime, Time)):
        if type(a) is not type(b) or _precision_key(a) != _precision_key(b):
            return False
        if isinstance(a, DateTime):
            assert isinstance(b, DateTime)
            return _utc_components(a, default_offset) == _utc_components(b, default_offset)
        return _components(a) == _components(b)
    if isinstance(a, Quantity) or isinstance(b, Quantity):
        if not (isinstance(a, Quantity) and isinstance(b, Quantity)):
            return False
        if (a.unit or "1") == (b.unit or "1"):
            return same_value(a.value, b.value)
        return _engine_says_equivalent(a, b)
    if isinstance(a, Ratio) or isinstance(b, Ratio):
        return (isinstance(a, Ratio) and isinstance(b, Ratio)
                and same_value(a.numerator, b.numerator) and same_value(a.denominator, b.denominator))
    if isinstance(a, Code) or isinstance(b, Code):
        return type(a) is type(b) and a == b
    if isinstance(a, Concept) or isinstance(b, Concept):
        return (type(a) is type(b) and a.display == b.display and len(a.codes) == len(b.codes)
                and all(same_value(x, y) for x, y in zip(a.codes, b.codes, strict=False)))
    if isinstance(a, Uncertainty) and isinstance(b, Interval):
        a, b = b, a
    if isinstance(a, Interval) and isinstance(b, Uncertainty):
        # The suite writes an uncertain result ("between 4 and 5 years") as Interval[4, 5].
        return (a.low_closed and a.high_closed and same_value(a.low, b.low)
                and same_value(a.high, b.high))
    if isinstance(a, Interval) or isinstance(b, Interval):
        if not (isinstance(a, Interval) and isinstance(b, Interval)):
            return False
        if (a.low_closed == b.low_closed and a.high_closed == b.high_closed
                and same_value(a.low, b.low, default_offset)
                and same_value(a.high, b.high, default_offset)):
            return True
        # Interval[1, 5) and Interval[1, 4] are the same interval of a discrete type.
        return _engine_says_equal(a, b)
    if isinstance(a, Uncertainty) or isinstance(b, Uncertainty):
        return (isinstance(a, Uncertainty) and isinstance(b, Uncertainty)
                and same_value(a.low, b.low) and same_value(a.high, b.high))
    if isinstance(a, CqlTuple) or isinstance(b, CqlTuple):
        return (isinstance(a, CqlTuple) and isinstance(b, CqlTuple) and set(a) == set(b)
                and all(same_value(a[k], b[k], default_offset) for k in a))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(same_value(x, y, default_offset) for x, y in zip(a, b, strict=False)))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return dict(a) == dict(b)
    return type(a) is type(b) and bool(a == b)


# --- declared (translator) types --------------------------------------------------------------

TypeSpec = tuple[str, Any]  # ("Named", "Decimal") | ("List", TypeSpec) | ("Interval", TypeSpec)


def _spec(node: Any) -> TypeSpec | None:
    if isinstance(node, str):
        return ("Named", node.rsplit("}", 1)[-1])
    if not isinstance(node, dict):
        return None
    kind = node.get("type")
    if kind == "NamedTypeSpecifier":
        return _spec(node.get("name"))
    if kind == "ListTypeSpecifier":
        inner = _spec(node.get("elementType"))
        return ("List", inner) if inner else None
    if kind == "IntervalTypeSpecifier":
        inner = _spec(node.get("pointType"))
        return ("Interval", inner) if inner else None
    return None


def declared_type(elm: dict[str, Any], define: str) -> TypeSpec | None:
    """The result type the translator gave a define, in a small comparable form."""
    for d in (elm.get("library", {}).get("statements") or {}).get("def", []):
        if d.get("name") == define:
            return _spec(d.get("resultTypeSpecifier") or d.get("resultTypeName"))
    return None


def promote(value: Any, want: TypeSpec | None, have: TypeSpec | None) -> Any:
    """CQL's implicit Integer -> Decimal conversion of an expected value whose literal was
    written as Integer where the tested expression is declared Decimal (``{ 10, 11 }`` for a
    List<Decimal>); nothing else is converted."""
    if want is None or have is None or value is None:
        return value
    if want == ("Named", "Decimal") and have == ("Named", "Integer") and type(value) is int:
        return Decimal(value)
    if want[0] == have[0] == "List" and isinstance(value, list):
        return [promote(x, want[1], have[1]) for x in value]
    if want[0] == have[0] == "Interval" and isinstance(value, Interval):
        return Interval(promote(value.low, want[1], have[1]), promote(value.high, want[1], have[1]),
                        value.low_closed, value.high_closed, value.point_type)
    return value


def _components(v: Date | Time) -> tuple[int | None, ...]:
    if isinstance(v, Date):
        return (v.year, v.month, v.day)
    return (v.hour, v.minute, v.second, v.millisecond)


def _engine_says_equal(a: Any, b: Any) -> bool:
    from trd_cds.engine.datatypes.values import equal
    try:
        return equal(a, b) is True
    except Exception:
        return False


def _engine_says_equivalent(a: Any, b: Any) -> bool:
    from trd_cds.engine.datatypes.values import equivalent
    try:
        return equivalent(a, b) is True
    except Exception:
        return False


def show(v: Any) -> str:
    """A short readable rendering of a value for failure reasons (Decimals with all digits)."""
    try:
        text = _render(v)
    except Exception:
        text = repr(v)
    return text if len(text) <= 100 else text[:97] + "..."


def _render(v: Any) -> str:
    from trd_cds.engine.encoding import encode
    if isinstance(v, Decimal):
        return f"{v}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_render(x) for x in v) + "]"
    if isinstance(v, CqlTuple):
        return "{" + ",".join(f"{k}:{_render(v[k])}" for k in v) + "}"
    if isinstance(v, Quantity):
        return f"{_render(v.value)} '{v.unit}'"
    return json.dumps(encode(v), separators=(",", ":"), default=str)


# --- running ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Outcome:
    test: ConformanceTest
    passed: bool
    category: str = ""  # failure class: what to fix (see categorize)
    reason: str = ""


def _first_error(tr: Translation) -> str:
    if not tr.errors:
        return "translation failed"
    e = tr.errors[0]
    where = f"{e.get('line')}:{e.get('column')} " if e.get("line") is not None else ""
    return f"{where}{e.get('message', '')}".strip()


_NODE_RE = re.compile(r"\b(?:node type|node|ELM node type|unsupported[^:]*:)\s*'?\"?([A-Z][A-Za-z]+)")


def categorize_exception(exc: BaseException) -> str:
    """A stable failure class for an evaluation error: unknown node types by name, numbers in
    messages folded to 'N' so that one fault is one class."""
    from trd_cds.engine.errors import CqlError, ElmError
    message = re.sub(r"\d+", "N", getattr(exc, "message", None) or str(exc))
    if isinstance(exc, _TimeLimit):
        return "timeout"
    if isinstance(exc, ElmError):
        m = _NODE_RE.search(message)
        return f"unsupported: {m.group(1)}" if m else f"elm error: {message.splitlines()[0][:60]}"
    if isinstance(exc, CqlError):
        return f"evaluation error: {message.splitlines()[0][:60]}"
    return f"crash: {type(exc).__name__}"


def _evaluate_one(evaluate: Evaluate, elm: dict[str, Any], names: Sequence[str],
                  now: DateTime) -> dict[str, Any]:
    try:
        with _time_limit(TEST_TIME_LIMIT_S):
            return evaluate(elm, names, now)
    except Exception as exc:  # loading failed: every define shares the failure
        return dict.fromkeys(names, exc)


def judge(test: ConformanceTest, tr: Translation, evaluate: Evaluate, now: DateTime) -> Outcome:
    if test.invalid is not None:
        if not tr.ok:
            return Outcome(test, True)
        assert tr.elm is not None
        got = _evaluate_one(evaluate, tr.elm, [RESULT], now)[RESULT]
        if isinstance(got, BaseException):
            return Outcome(test, True)
        return Outcome(test, False, "invalid accepted",
                       f"expected an error ({test.invalid}), got {show(got)}")
    if not tr.ok:
        return Outcome(test, False, "translator rejects", _first_error(tr))
    assert tr.elm is not None
    values = _evaluate_one(evaluate, tr.elm, [RESULT, EXPECTED], now)
    got, want = values[RESULT], values[EXPECTED]
    for value in (got, want):
        if isinstance(value, BaseException):
            # Loading compiles both defines, so say which one the engine could not handle.
            in_expected = value is want and (value is not got
                                             or getattr(value, "define", None) == EXPECTED)
            prefix = "expected output: " if in_expected else ""
            return Outcome(test, False, prefix + categorize_exception(value),
                           prefix + _message(value))
    if same_value(got, promote(want, declared_type(tr.elm, RESULT), declared_type(tr.elm, EXPECTED))):
        return Outcome(test, True)
    return Outcome(test, False, f"wrong result: {test.suite}.{test.group}",
                   f"got {show(got)}, expected {show(want)}")


def _message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}"


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome]
    translate_seconds: float = 0.0
    evaluate_seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed

    def per_suite(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, list[int]] = {}
        for o in self.outcomes:
            c = counts.setdefault(o.test.suite, [0, 0])
            c[0 if o.passed else 1] += 1
        return {k: (v[0], v[1]) for k, v in counts.items()}

    def categories(self) -> Counter[str]:
        return Counter(o.category for o in self.outcomes if not o.passed)

    def failures(self) -> dict[str, str]:
        return {o.test.full_name: f"{o.category}: {o.reason}"[:240]
                for o in self.outcomes if not o.passed}


def default_now() -> DateTime:
    """Evaluation time: the current instant in UTC, as a request would carry it."""
    t = datetime.now(UTC)
    return DateTime(t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond // 1000,
                    Decimal(0))


def default_cache_file() -> Path:
    """Translations are cached in the checkout's (git-ignored) build folder."""
    return checkout_dir() / ".build" / "conformance-translations.json"


def run(tests: Sequence[ConformanceTest], *, evaluate: Evaluate | None = None,
        now: DateTime | None = None, workers: int | None = None,
        cache_file: Path | None = None,
        progress: Callable[[str], None] | None = None) -> Report:
    evaluate = evaluate or engine_evaluate()
    now = now or default_now()
    t0 = time.perf_counter()
    translations = translate_cached([library_text(t, i) for i, t in enumerate(tests)],
                                    cache_file=cache_file, workers=workers)
    t1 = time.perf_counter()
    if progress:
        progress(f"translated {len(tests)} test libraries in {t1 - t0:.1f} s")
    outcomes = [judge(t, tr, evaluate, now) for t, tr in zip(tests, translations, strict=False)]
    t2 = time.perf_counter()
    return Report(outcomes, translate_seconds=t1 - t0, evaluate_seconds=t2 - t1)


# --- baseline --------------------------------------------------------------------------------

def read_baseline(path: str | Path) -> dict[str, Any] | None:
    p = Path(path)
    if not p.exists():
        return None
    data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return data


def baseline_data(report: Report) -> dict[str, Any]:
    return {
        "passed": report.passed,
        "failed": report.failed,
        "total": len(report.outcomes),
        "failures": dict(sorted(report.failures().items())),
    }


def write_baseline(path: str | Path, report: Report) -> None:
    Path(path).write_text(json.dumps(baseline_data(report), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def failures_text(report: Report) -> str:
    """The failures grouped by category, largest first: what to fix next."""
    by_cat: dict[str, list[Outcome]] = {}
    for o in report.outcomes:
        if not o.passed:
            by_cat.setdefault(o.category, []).append(o)
    lines = [f"# CQL conformance failures: {report.failed} of {len(report.outcomes)} tests",
             "# (generated by `cql conformance --update-baseline`; grouped by failure class)", ""]
    for cat, items in sorted(by_cat.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"## {cat} ({len(items)})")
        for o in items:
            lines.append(f"- {o.test.full_name}: `{o.test.expression[:80]}` -- {o.reason[:160]}")
        lines.append("")
    return "\n".join(lines)
