"""A CQL 1.5 engine: loads ELM JSON, compiles it once to Python closures, evaluates it.

It depends on nothing else of the service (a test checks that), so it can be used on its own.
The public API is what this module exports::

    from datetime import date
    from trd_cds.engine import Engine, FhirDataProvider, ValueSetDirectory

    engine = Engine.from_elm_dir("cql/elm")                  # compile once, at start-up
    terminology = ValueSetDirectory.from_directory("cql/valuesets")
    results = engine.evaluate(
        "TRDAssessment",
        data=FhirDataProvider(resources),                    # one patient's FHIR JSON dicts
        now=date(2025, 3, 1),                                # as-of: fixed for the evaluation
        terminology=terminology,
        parameters={"TRDConfig.AdequateTrialDays": 56},     # optional overrides
        expressions=["TRD Status"],                          # optional: only these defines
    )                                                        # -> {define name: CQL value}

* ``data`` is any :class:`DataProvider` (``retrieve(data_type, ...)`` returning model objects);
  :class:`FhirDataProvider` reads FHIR R4 JSON. Without it every retrieve is empty.
* ``terminology`` is any :class:`TerminologyProvider` (value set membership and expansion);
  :class:`ValueSetDirectory` reads FHIR ValueSet JSON files.
* ``now`` is the evaluation time (``Now()``, ``Today()``): a :class:`DateTime`, an aware
  ``datetime`` or a ``date`` (midnight UTC); see :func:`evaluation_time`.
* Results and parameters are CQL values as Python objects: ``bool``, ``int``, ``Decimal``,
  ``str``, ``list``, :class:`Date`, :class:`DateTime`, :class:`Time`, :class:`Quantity`,
  :class:`Ratio`, :class:`Code`, :class:`Concept`, :class:`Interval`, :class:`CqlTuple`,
  :class:`Uncertainty` (an Integer known to a range), and
  the FHIR provider's :class:`FhirElement` and :class:`FhirPrimitive`.

An :class:`Engine` is immutable after loading and thread-safe: every evaluation builds its own
:class:`Context`. Evaluation runs in the Patient context over the data provider's patient;
``Unfiltered`` defines see the same provider. The FHIR model of each library is the packaged
model info of its ``using FHIR version`` (an unknown version fails at load). Errors are
:class:`CqlError` subclasses naming library, define and ELM locator.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from .data import DataProvider, NoData
from .datatypes.temporal import Date, DateTime, Time
from .datatypes.values import Code, Concept, CqlTuple, Interval, Quantity, Ratio, Uncertainty
from .errors import CqlError, CqlEvaluationError, CqlMessageError, ElmError
from .fhir.provider import FhirDataProvider, FhirElement, FhirPrimitive
from .runtime.compiled import CompiledLibrary
from .runtime.context import MISSING, Context
from .runtime.library import LibraryManager
from .terminology import CodeSystem, TerminologyProvider, ValueSet, ValueSetDirectory

__all__ = [
    "Code",
    "CodeSystem",
    "CompiledLibrary",
    "Concept",
    "Context",
    "CqlError",
    "CqlEvaluationError",
    "CqlMessageError",
    "CqlTuple",
    "DataProvider",
    "Date",
    "DateTime",
    "ElmError",
    "Engine",
    "FhirDataProvider",
    "FhirElement",
    "FhirPrimitive",
    "Interval",
    "LibraryManager",
    "NoData",
    "Quantity",
    "Ratio",
    "TerminologyProvider",
    "Time",
    "Uncertainty",
    "ValueSet",
    "ValueSetDirectory",
    "evaluation_time",
]

# What ``now`` may be given as.
AsOf = DateTime | _dt.datetime | _dt.date


def evaluation_time(now: AsOf) -> DateTime:
    """The CQL DateTime of an evaluation time: a DateTime as is, an aware ``datetime`` at its
    offset (to the millisecond), a ``date`` at midnight UTC. A naive ``datetime`` is refused:
    ``Now()`` and every comparison with a zoned FHIR dateTime depend on the offset."""
    if isinstance(now, DateTime):
        return now
    if isinstance(now, _dt.datetime):
        offset = now.utcoffset()
        if offset is None:
            raise ValueError("the evaluation time needs a timezone (an aware datetime)")
        hours = Decimal(int(offset.total_seconds())) / Decimal(3600)
        return DateTime(now.year, now.month, now.day, now.hour, now.minute, now.second,
                        now.microsecond // 1000, hours)
    return DateTime(now.year, now.month, now.day, 0, 0, 0, 0, Decimal(0))


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
        now: AsOf,
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
        now: AsOf,
        parameters: dict[str, Any] | None = None,
        terminology: TerminologyProvider | None = None,
    ) -> Context:
        """A fresh evaluation context for ``library`` (for callers evaluating step by step)."""
        manager = self.manager
        return Context(
            now=evaluation_time(now),
            parameters=dict(parameters or {}),
            data=data if data is not None else NoData(),
            terminology=terminology,
            library=library.name,
            cache=[MISSING] * manager.cache_size,
            slots=[None] * manager.slot_count,
        )
