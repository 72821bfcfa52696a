"""The compiled form of an ELM library: its defines, functions and parameters as closures.

:class:`library.LibraryManager` builds these objects and :class:`compiler.LibraryCompiler` fills
in their closures; both depend on this module, neither on the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import ElmError
from ..fhir.model import FhirModel
from .registry import Evaluator


class LibrarySource(Protocol):
    """Where a compiled library finds its includes and allocates variable slots."""

    def get(self, name: str, version: str | None = None) -> CompiledLibrary: ...

    def new_slot(self) -> int: ...


@dataclass(slots=True)
class DefEntry:
    """One ``define``: compiled on first reference, then cached per evaluation."""

    name: str
    elm: dict[str, Any]
    context: str
    index: int  # position in Context.cache
    evaluator: Evaluator | None = None  # reads the per-evaluation cache
    compiling: bool = False


@dataclass(slots=True)
class FunctionEntry:
    """One ``define function`` overload."""

    name: str
    elm: dict[str, Any]
    operand_names: list[str]
    operand_types: list[Any]  # type keys (see ops.types.type_key)
    operand_specs: list[dict[str, Any] | str | None]
    slots: list[int] = field(default_factory=list)
    body: Evaluator | None = None
    compiling: bool = False
    # Whether a call's value depends on its operands alone and has no effect (see
    # ops.refs.is_quiet); None until asked.
    quiet: bool | None = None


@dataclass(slots=True)
class ParameterEntry:
    name: str
    elm: dict[str, Any]
    index: int
    evaluator: Evaluator | None = None


@dataclass(slots=True)
class CompiledLibrary:
    name: str
    version: str | None
    elm: dict[str, Any]
    includes: dict[str, tuple[str, str | None]]  # local alias -> (name, version)
    defs: dict[str, DefEntry]
    functions: dict[str, list[FunctionEntry]]
    parameters: dict[str, ParameterEntry]
    codesystems: dict[str, dict[str, Any]]
    valuesets: dict[str, dict[str, Any]]
    codes: dict[str, dict[str, Any]]
    concepts: dict[str, dict[str, Any]]
    manager: LibrarySource
    # The FHIR model of the library's ``using FHIR version``; None when it uses only System.
    fhir_model: FhirModel | None = None
    compiled: bool = False

    def included(self, alias: str | None) -> CompiledLibrary:
        if alias is None:
            return self
        target = self.includes.get(alias)
        if target is None:
            raise ElmError(f"unknown included library {alias}", library=self.name)
        return self.manager.get(*target)
