"""The CQL engine: loads ELM JSON, compiles it once to Python closures, evaluates it.

Typical use::

    from trd_cds.engine import Engine, FhirDataProvider, ValueSetDirectory
    from trd_cds.engine.datatypes.temporal import DateTime

    engine = Engine.from_elm_dir("cql/elm")                  # compile once, at start-up
    terminology = ValueSetDirectory.from_directory("cql/valuesets")
    results = engine.evaluate(
        "TRDAssessment",
        data=FhirDataProvider(resources),                    # one patient's FHIR JSON dicts
        now=DateTime.parse("2025-03-01T12:00:00Z"),          # fixed for the whole evaluation
        terminology=terminology,
        parameters={"Measurement Period": ...},              # optional overrides
        expressions=["Has TRD"],                             # optional: only these defines
    )                                                        # -> {define name: CQL value}

An :class:`Engine` is immutable after loading and thread-safe: every evaluation builds its own
:class:`Context`. Evaluation runs in the Patient context over the data provider's patient;
``Unfiltered`` defines see the same provider. Errors are :class:`errors.CqlError` subclasses
naming library, define and ELM locator.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .data import DataProvider, NoData
from .datatypes.temporal import DateTime
from .errors import CqlError, CqlEvaluationError, CqlMessageError, ElmError
from .fhir.provider import FhirDataProvider, FhirElement, FhirPrimitive
from .runtime.compiled import CompiledLibrary
from .runtime.context import MISSING, Context
from .runtime.library import LibraryManager
from .terminology import CodeSystem, TerminologyProvider, ValueSet, ValueSetDirectory

__all__ = [
    "CodeSystem",
    "CompiledLibrary",
    "Context",
    "CqlError",
    "CqlEvaluationError",
    "CqlMessageError",
    "DataProvider",
    "ElmError",
    "Engine",
    "FhirDataProvider",
    "FhirElement",
    "FhirPrimitive",
    "LibraryManager",
    "NoData",
    "TerminologyProvider",
    "ValueSet",
    "ValueSetDirectory",
]


class Engine:
    """Compiled CQL libraries, ready to evaluate any number of times."""

    def __init__(self, manager: LibraryManager) -> None:
        self.manager = manager

    @classmethod
    def from_elm(cls, libraries: Iterable[dict[str, Any]]) -> Engine:
        """From ELM JSON library dicts (``{"library": {...}}``), compiling all of them."""
        manager = LibraryManager()
        manager.load(libraries)
        return cls(manager)

    @classmethod
    def from_elm_dir(cls, path: str | Path) -> Engine:
        """From every ``*.json`` ELM file of a directory."""
        manager = LibraryManager()
        manager.load_directory(path)
        return cls(manager)

    def library(self, name: str, version: str | None = None) -> CompiledLibrary:
        return self.manager.get(name, version)

    def evaluate(
        self,
        library: str,
        *,
        data: DataProvider | None = None,
        now: DateTime,
        parameters: dict[str, Any] | None = None,
        expressions: Iterable[str] | None = None,
        terminology: TerminologyProvider | None = None,
        version: str | None = None,
    ) -> dict[str, Any]:
        """Evaluate the defines of a library (all public ones, or ``expressions``).

        ``parameters`` override the library's parameter defaults by name; parameters of
        included libraries are named ``'Library.Parameter'``. Returns define name -> value.
        """
        lib = self.manager.get(library, version)
        ctx = self.context(lib, data=data, now=now, parameters=parameters,
                           terminology=terminology)
        if expressions is None:
            names = [n for n, d in lib.defs.items()
                     if d.elm.get("accessLevel", "Public") == "Public"]
        else:
            names = list(expressions)
        results: dict[str, Any] = {}
        for name in names:
            entry = lib.defs.get(name)
            if entry is None:
                raise ElmError(f"library {lib.name} has no define {name!r}", library=lib.name)
            assert entry.evaluator is not None
            results[name] = entry.evaluator(ctx)
        return results

    def context(
        self,
        library: CompiledLibrary,
        *,
        data: DataProvider | None,
        now: DateTime,
        parameters: dict[str, Any] | None = None,
        terminology: TerminologyProvider | None = None,
    ) -> Context:
        """A fresh evaluation context for ``library`` (for callers evaluating step by step)."""
        manager = self.manager
        return Context(
            now=now,
            parameters=dict(parameters or {}),
            data=data if data is not None else NoData(),
            terminology=terminology,
            library=library.name,
            cache=[MISSING] * manager.cache_size,
            slots=[None] * manager.slot_count,
        )
