"""Translating CQL snippets to ELM for engine tests, with the project's translator.

``translate(*cql_texts)`` runs ``node cql/tools/translate.mjs --batch`` once for all the texts
(plus the project's FHIRHelpers.cql, so FHIR libraries can include it) and returns the ELM
library dicts. Tests using it are skipped when ``cql/node_modules`` is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CQL_DIR = ROOT / "cql"
TRANSLATE = CQL_DIR / "tools" / "translate.mjs"

needs_translator = pytest.mark.skipif(
    not (CQL_DIR / "node_modules").is_dir() or shutil.which("node") is None,
    reason="needs Node and cql/node_modules (run `make setup-node`) to translate CQL to ELM",
)


class TranslationError(AssertionError):
    pass


@cache
def _translate(texts: tuple[str, ...]) -> tuple[str, ...]:
    with tempfile.TemporaryDirectory() as tmp:
        lib_dir = Path(tmp)
        helpers = CQL_DIR / "FHIRHelpers.cql"
        sources = list(texts)
        if helpers.exists():
            shutil.copy(helpers, lib_dir / "FHIRHelpers.cql")
            sources.append(helpers.read_text(encoding="utf-8"))
        # Included libraries are looked up by name in the library directory.
        for i, text in enumerate(texts):
            (lib_dir / f"snippet{i}.cql").write_text(text, encoding="utf-8")
        requests = "".join(json.dumps({"id": str(i), "cql": text}) + "\n"
                           for i, text in enumerate(sources))
        proc = subprocess.run(
            ["node", str(TRANSLATE), "--batch", "--lib-dir", str(lib_dir)],
            input=requests, capture_output=True, text=True, check=True, timeout=300,
        )
    out: list[str] = [""] * len(sources)
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        reply = json.loads(line)
        if not reply["ok"]:
            raise TranslationError(f"CQL translation failed: {reply['errors']}")
        out[int(reply["id"])] = json.dumps(reply["elm"])
    return tuple(out)


def translate(*texts: str) -> list[dict[str, Any]]:
    """ELM library dicts of the given CQL libraries (and of FHIRHelpers); fresh copies."""
    return [json.loads(s) for s in _translate(tuple(texts))]
