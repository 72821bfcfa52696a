"""Loading ELM libraries and resolving ``include … called`` across them.

A :class:`LibraryManager` holds ELM JSON library dicts keyed by name and version, compiles
each library once (every ExpressionDef and FunctionDef becomes a Python closure) and hands out
:class:`CompiledLibrary` objects. Compiled libraries are immutable after loading, so they can be
evaluated from many threads at once; the per-evaluation state lives in :class:`Context`.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ElmError
from ..fhir.model import FhirModel, model_for
from ..ops.types import operand_type_key
from .compiled import CompiledLibrary, DefEntry, FunctionEntry, ParameterEntry
from .compiler import LibraryCompiler


def _defs(section: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not section:
        return []
    found = section.get("def", [])
    return found if isinstance(found, list) else []


def _model_of(lib: dict[str, Any], name: str) -> FhirModel | None:
    """The FHIR model a library declares (``using FHIR version '4.0.1'``), None for System only."""
    found: FhirModel | None = None
    for using in _defs(lib.get("usings")):
        uri = using.get("uri")
        if not isinstance(uri, str):
            raise ElmError("using without a model uri", library=name)
        try:
            model = model_for(uri, using.get("version"))
        except ElmError as e:
            raise e.located(library=name) from None
        found = model or found
    return found


class LibraryManager:
    """ELM libraries by name and version, compiled once."""

    def __init__(self) -> None:
        self._elm: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._latest: dict[str, str | None] = {}
        self._compiled: dict[tuple[str, str | None], CompiledLibrary] = {}
        # Sizes of the per-evaluation arrays (Context.cache, Context.slots).
        self.cache_size = 0
        self.slot_count = 0

    # -- loading -------------------------------------------------------------------------
    def load(self, libraries: Iterable[dict[str, Any]]) -> None:
        """Add ELM JSON library dicts (``{"library": {...}}``); compile them all."""
        added = []
        for doc in libraries:
            lib = doc.get("library") if isinstance(doc, dict) else None
            if not isinstance(lib, dict) or not isinstance(lib.get("identifier"), dict):
                raise ElmError("not an ELM library (no library.identifier)")
            name = lib["identifier"].get("id")
            if not isinstance(name, str):
                raise ElmError("ELM library without identifier.id")
            version = lib["identifier"].get("version")
            self._elm[(name, version)] = lib
            self._latest[name] = version
            added.append((name, version))
        # Compiling allocates many small closures while the parsed ELM is alive: without the
        # cyclic collector walking that heap over and over, loading takes a fraction of the time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for name, version in added:
                self.compile_all(name, version)
        finally:
            if collecting:
                gc.enable()

    def load_directory(self, path: str | Path) -> list[str]:
        """Load every ``*.json`` ELM file of a directory; returns the library names."""
        docs = []
        for file in sorted(Path(path).glob("*.json")):
            doc = json.loads(file.read_bytes())
            if isinstance(doc, dict) and "library" in doc:
                docs.append(doc)
        self.load(docs)
        return [d["library"]["identifier"]["id"] for d in docs]

    # -- lookup --------------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self._latest)

    def get(self, name: str, version: str | None = None) -> CompiledLibrary:
        """The library ``name`` (``version`` when given; else the one loaded last)."""
        key = (name, version)
        found = self._compiled.get(key)
        if found is not None:
            return found
        if key not in self._elm:
            if version is None and name in self._latest:
                return self.get(name, self._latest[name])
            known = ", ".join(f"{n} {v}" for n, v in self._elm) or "none"
            raise ElmError(f"library {name} version {version} is not loaded (loaded: {known})")
        found = self._compiled[key] = self._index(self._elm[key])
        return found

    def _index(self, lib: dict[str, Any]) -> CompiledLibrary:
        name = lib["identifier"]["id"]
        includes = {
            inc.get("localIdentifier") or inc["path"]: (inc["path"], inc.get("version"))
            for inc in _defs(lib.get("includes"))
        }
        defs: dict[str, DefEntry] = {}
        functions: dict[str, list[FunctionEntry]] = {}
        for stmt in _defs(lib.get("statements")):
            if stmt.get("type") == "FunctionDef":
                operands = stmt.get("operand") or []
                functions.setdefault(stmt["name"], []).append(
                    FunctionEntry(
                        stmt["name"],
                        stmt,
                        [o["name"] for o in operands],
                        [operand_type_key(o) for o in operands],
                        [o.get("operandTypeSpecifier") or o.get("operandType") for o in operands],
                    )
                )
            else:
                defs[stmt["name"]] = DefEntry(
                    stmt["name"], stmt, stmt.get("context", "Patient"), self._next_cache_index()
                )
        parameters = {
            p["name"]: ParameterEntry(p["name"], p, self._next_cache_index())
            for p in _defs(lib.get("parameters"))
        }
        return CompiledLibrary(
            name=name,
            version=lib["identifier"].get("version"),
            elm=lib,
            includes=includes,
            defs=defs,
            functions=functions,
            parameters=parameters,
            codesystems={d["name"]: d for d in _defs(lib.get("codeSystems"))},
            valuesets={d["name"]: d for d in _defs(lib.get("valueSets"))},
            codes={d["name"]: d for d in _defs(lib.get("codes"))},
            concepts={d["name"]: d for d in _defs(lib.get("concepts"))},
            manager=self,
            fhir_model=_model_of(lib, name),
        )

    def _next_cache_index(self) -> int:
        self.cache_size += 1
        return self.cache_size - 1

    def new_slot(self) -> int:
        self.slot_count += 1
        return self.slot_count - 1

    # -- compiling -----------------------------------------------------------------------
    def compile_all(self, name: str, version: str | None = None) -> CompiledLibrary:
        """Compile every define, function and parameter of a library (and its includes)."""
        lib = self.get(name, version)
        if lib.compiled:
            return lib
        lib.compiled = True
        for target in lib.includes.values():
            self.compile_all(*target)
        compiler = LibraryCompiler(lib)
        for entry in lib.defs.values():
            compiler.define(entry)
        for overloads in lib.functions.values():
            for fn in overloads:
                compiler.function_body(fn)
        for param in lib.parameters.values():
            compiler.parameter(param)
        return lib
