"""The engine as a library: its documented example runs, and it stands alone."""

from __future__ import annotations

import ast
import datetime as dt
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import trd_cds.engine as engine_api
from trd_cds.engine import DateTime, evaluation_time

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "service" / "trd_cds" / "engine"


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## The CQL engine as a library")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_the_readme_example_prints_what_the_readme_says() -> None:
    section = _readme_section()
    code = re.search(r"```python\n(.*?)```", section, re.S)
    printed = re.search(r"It prints:\n\n```text\n(.*?)```", section, re.S)
    assert code and printed
    run = subprocess.run([sys.executable, "-c", code.group(1)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == printed.group(1)


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (top-level and inside functions), relative ones resolved."""
    package = ".".join(path.relative_to(ROOT / "service").with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    else:
        package = package.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant)):
            found.append((node.lineno, str(node.args[0].value)))
    return found


def test_the_engine_imports_nothing_else_of_the_service() -> None:
    modules = sorted(ENGINE.rglob("*.py"))
    assert len(modules) > 30
    outside = [f"{p.relative_to(ROOT)}:{line} imports {name}"
               for p in modules for line, name in _imported_modules(p)
               if (name == "trd_cds" or name.startswith("trd_cds."))
               and not (name == "trd_cds.engine" or name.startswith("trd_cds.engine."))]
    assert outside == []


def test_the_import_walk_sees_relative_and_function_level_imports() -> None:
    # The check above must see an import hidden in a function, two levels up.
    probe = ENGINE / "ops" / "refs.py"
    names = {name for _, name in _imported_modules(probe)}
    assert "trd_cds.engine.runtime.compiler" in names
    structure = {name for _, name in _imported_modules(ENGINE / "ops" / "structure.py")}
    assert "trd_cds.engine.runtime.compiler" in structure  # also imported inside functions


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT / "service").with_suffix("").parts)
    return name.removesuffix(".__init__")


def test_the_engine_has_no_import_cycles() -> None:
    files = {_module_name(p): p for p in ENGINE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, module in _imported_modules(path):
            # 'from .. import values' imports the module trd_cds.engine.datatypes.values.
            subs = {f"{module}.{a.name}" for n in ast.walk(tree)
                    if isinstance(n, ast.ImportFrom) and n.lineno == line for a in n.names}
            deps |= (subs & files.keys()) or ({module} & files.keys())
        graph[name] = deps - {name}
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            current, path = stack.pop()
            for nxt in graph[current]:
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


SERVICE_ONLY = ("fastapi", "starlette", "uvicorn", "redis", "httpx", "pydantic",
                "pydantic_settings", "orjson", "prometheus_client", "jwt", "fhir")


def test_importing_the_engine_loads_no_service_module() -> None:
    probe = (
        "import sys\n"
        "import trd_cds.engine as e\n"
        "e.Engine, e.FhirDataProvider, e.ValueSetDirectory, e.DataProvider\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True)
    loaded = set(run.stdout.split())
    assert "trd_cds.engine" in loaded
    service = sorted(m for m in loaded if m.startswith("trd_cds.")
                     and not m.startswith("trd_cds.engine"))
    assert service == []
    assert sorted(m for m in loaded if m.split(".")[0] in SERVICE_ONLY) == []


def test_the_public_names_are_exported() -> None:
    for name in engine_api.__all__:
        assert getattr(engine_api, name) is not None, name


def test_the_as_of_time_accepts_dates_and_aware_datetimes() -> None:
    assert str(evaluation_time(dt.date(2025, 3, 1))) == str(
        DateTime(2025, 3, 1, 0, 0, 0, 0, Decimal(0)))
    later = dt.datetime(2025, 3, 1, 14, 30, 5, 250000,
                        tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30)))
    got = evaluation_time(later)
    assert (got.year, got.month, got.day, got.hour, got.minute, got.second,
            got.millisecond, got.offset) == (2025, 3, 1, 14, 30, 5, 250, Decimal("-5.5"))
    same = DateTime(2025, 1, 1)
    assert evaluation_time(same) is same
    with pytest.raises(ValueError, match="needs a timezone"):
        evaluation_time(dt.datetime(2025, 3, 1, 12, 0))
