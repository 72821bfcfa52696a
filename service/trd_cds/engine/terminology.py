"""Value sets from FHIR ValueSet resources, for ``in "Value Set"`` and retrieves.

Loads ValueSet JSON resources from a directory. Membership is by code system + code (the code
system version is compared only when the value set names one and the code carries one). What a
value set may contain:

* ``expansion.contains`` (nested ``contains`` included): used as is when present;
* otherwise ``compose.include[].concept``, minus ``compose.exclude[].concept``;
* ``compose.include`` of a whole code system (no ``concept``, no ``filter``): every code of that
  system is a member. Membership can be checked (by the system), but the value set cannot be
  expanded, so :meth:`expand` raises for it;
* ``compose.include`` with ``filter`` or ``valueSet`` cannot be evaluated without a terminology
  server and is rejected when loading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .datatypes.values import Code, Concept
from .errors import CqlEvaluationError


class TerminologyError(CqlEvaluationError):
    """A value set that cannot be loaded or answered."""


@dataclass(frozen=True, slots=True)
class ValueSet:
    """A CQL ValueSet reference (what a ``valueset`` declaration evaluates to)."""

    id: str
    version: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CodeSystem:
    """A CQL CodeSystem reference (what a ``codesystem`` declaration evaluates to)."""

    id: str
    version: str | None = None
    name: str | None = None


class TerminologyProvider(Protocol):
    def in_valueset(self, codes: Any, url: str, version: str | None = None) -> bool:
        """Whether any of the codes (a Code, Concept, or list of them) is in the value set."""
        ...

    def expand(self, url: str, version: str | None = None) -> list[Code]:
        """Every code of the value set."""
        ...


@dataclass(frozen=True, slots=True)
class _Expansion:
    codes: tuple[Code, ...]
    members: frozenset[tuple[str | None, str]]
    versions: dict[tuple[str | None, str], str | None]
    whole_systems: frozenset[str]
    version: str | None


def _as_codes(value: Any) -> Iterable[Code]:
    if value is None:
        return ()
    if isinstance(value, Code):
        return (value,)
    if isinstance(value, Concept):
        return value.codes
    if isinstance(value, (list, tuple)):
        return [c for v in value for c in _as_codes(v)]
    if isinstance(value, str):
        return (Code(value),)
    raise TerminologyError(f"not a code: {value!r}")


class ValueSetDirectory:
    """An in-memory terminology provider over FHIR ValueSet resources."""

    def __init__(self, value_sets: Iterable[dict[str, Any]] = ()) -> None:
        self._by_url: dict[str, list[_Expansion]] = {}
        for resource in value_sets:
            self.add(resource)

    @classmethod
    def from_directory(cls, path: str | Path) -> ValueSetDirectory:
        directory = cls()
        for file in sorted(Path(path).glob("*.json")):
            resource = json.loads(file.read_text(encoding="utf-8"))
            if resource.get("resourceType") == "ValueSet":
                directory.add(resource, source=file.name)
            elif resource.get("resourceType") == "Bundle":
                for entry in resource.get("entry", []):
                    inner = entry.get("resource", {})
                    if inner.get("resourceType") == "ValueSet":
                        directory.add(inner, source=file.name)
        return directory

    def add(self, resource: dict[str, Any], source: str | None = None) -> None:
        url = resource.get("url")
        where = f" ({source})" if source else ""
        if not isinstance(url, str):
            raise TerminologyError(f"ValueSet without url{where}")
        codes: list[Code] = []
        whole: set[str] = set()
        expansion = resource.get("expansion")
        if isinstance(expansion, dict) and "contains" in expansion:
            stack = list(expansion.get("contains", []))
            while stack:
                item = stack.pop(0)
                if item.get("code") is not None and not item.get("abstract", False):
                    codes.append(
                        Code(
                            item["code"],
                            item.get("system"),
                            item.get("version"),
                            item.get("display"),
                        )
                    )
                stack.extend(item.get("contains", []))
        else:
            compose = resource.get("compose", {})
            for include in compose.get("include", []):
                if include.get("filter") or include.get("valueSet"):
                    raise TerminologyError(
                        f"ValueSet {url}{where}: compose.include with filter or valueSet needs "
                        "a terminology server; provide an expansion instead"
                    )
                system = include.get("system")
                concepts = include.get("concept")
                if concepts:
                    codes.extend(
                        Code(c["code"], system, include.get("version"), c.get("display"))
                        for c in concepts
                    )
                elif isinstance(system, str):
                    whole.add(system)
            excluded = {
                (exc.get("system"), c["code"])
                for exc in compose.get("exclude", [])
                for c in exc.get("concept", [])
            }
            if excluded:
                codes = [c for c in codes if (c.system, c.code) not in excluded]
        members = frozenset((c.system, c.code) for c in codes if c.code is not None)
        versions = {(c.system, c.code): c.version for c in codes if c.code is not None}
        entry = _Expansion(
            tuple(codes), members, versions, frozenset(whole), resource.get("version")
        )
        self._by_url.setdefault(url, []).append(entry)

    def _find(self, url: str, version: str | None) -> _Expansion:
        found = self._by_url.get(url)
        if not found:
            raise TerminologyError(f"unknown value set {url}")
        if version is None:
            return found[-1]
        for entry in found:
            if entry.version == version:
                return entry
        raise TerminologyError(f"unknown value set {url} version {version}")

    def in_valueset(self, codes: Any, url: str, version: str | None = None) -> bool:
        entry = self._find(url, version)
        for code in _as_codes(codes):
            key = (code.system, code.code)
            if key in entry.members:
                wanted = entry.versions.get(key)
                if wanted is None or code.version is None or wanted == code.version:
                    return True
            elif code.system is not None and code.system in entry.whole_systems:
                return True
        return False

    def expand(self, url: str, version: str | None = None) -> list[Code]:
        entry = self._find(url, version)
        if entry.whole_systems:
            raise TerminologyError(
                f"ValueSet {url} includes whole code systems and cannot be expanded"
            )
        return list(entry.codes)

    def __contains__(self, url: object) -> bool:
        return url in self._by_url
