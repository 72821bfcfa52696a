"""Reading an export: NDJSON files (one resource a line, `.ndjson` or `.ndjson.gz`, as Bulk
Data `$export` writes them) or Bundle files (`.json`), into records keyed by patient.

Streaming: an NDJSON file is read line by line; a Bundle file (one patient's, usually) is
read whole. A line or entry that cannot be used is an ``InputProblem`` naming the file and the
line or entry, never its content: the run goes on and the report counts it."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .records import medication_key, medication_references, patient_key

NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz")
BUNDLE_SUFFIXES = (".json",)


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One resource: whose it is (``patient``), or, for a Medication that several patients'
    records may reference, its own id (``medication``)."""

    kind: str
    patient: str | None
    medication: str | None
    full_url: str | None
    body: bytes
    medication_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InputProblem:
    source: str  # the file, relative to the input folder
    where: str  # "line 12" or "entry 3"
    issue: str  # invalid-json, not-a-resource, no-patient-reference, not-a-bundle
    kind: str | None = None  # the resource type, when there is one


Item = InputRecord | InputProblem


def input_files(root: Path) -> list[Path]:
    """The NDJSON and Bundle files under ``root`` (or ``root`` itself), in a stable order."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"no such input: {root}")
    return sorted(p for p in root.rglob("*") if p.is_file() and _readable(p.name))


def _readable(name: str) -> bool:
    return name.endswith(NDJSON_SUFFIXES) or name.endswith(BUNDLE_SUFFIXES)


def read_items(root: Path) -> Iterator[Item]:
    for path in input_files(root):
        source = path.name if root.is_file() else str(path.relative_to(root))
        if path.name.endswith(NDJSON_SUFFIXES):
            yield from ndjson_items(_lines(path), source)
        else:
            yield from bundle_items(path.read_bytes(), source)


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        yield from handle


def ndjson_items(lines: Iterable[bytes], source: str) -> Iterator[Item]:
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped:
            yield ndjson_item(stripped, source, number)


def ndjson_item(line: bytes, source: str, number: int | None) -> Item:
    """``number`` None: where the line was in its file is not known (Spark reads lines so)."""
    where = f"line {number}" if number is not None else "a line"
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError:
        return InputProblem(source, where, "invalid-json")
    return _record(resource, line, None, None, source, where)


def _record(resource: Any, body: bytes | None, full_url: str | None,
            aliases: dict[str, str] | None, source: str, where: str) -> Item:
    if not isinstance(resource, dict) or not isinstance(kind := resource.get("resourceType"), str):
        return InputProblem(source, where, "not-a-resource")
    encoded = body if body is not None else orjson.dumps(resource)
    if kind == "Medication":
        ident = resource.get("id")
        return InputRecord(kind, None, ident if isinstance(ident, str) and ident else None,
                           full_url, encoded)
    patient = patient_key(resource, aliases)
    if patient is None:
        return InputProblem(source, where, "no-patient-reference", kind)
    refs = tuple(k for k in map(medication_key, medication_references(resource)) if k)
    return InputRecord(kind, patient, None, full_url, encoded, refs)


def bundle_items(data: bytes, source: str) -> Iterator[Item]:
    """The entries of a Bundle file. In a Bundle about one patient every entry is that
    patient's, its Medications included (their ids need only be unique within the Bundle);
    in one about several, Medications are shared like those of an NDJSON export."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        yield InputProblem(source, "file", "invalid-json")
        return
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        if isinstance(document, dict) and "output" in document and "transactionTime" in document:
            return  # the $export manifest: it lists the files, which are read anyway
        yield InputProblem(source, "file", "not-a-bundle")
        return
    entries = document.get("entry")
    if not isinstance(entries, list):
        yield InputProblem(source, "file", "not-a-bundle")
        return
    aliases = _patient_aliases(entries)
    owners = set(aliases.values())
    only = next(iter(owners)) if len(owners) == 1 else None
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        item = _record(resource, None, full_url if isinstance(full_url, str) else None,
                       aliases, source, f"entry {index}")
        if only is not None and isinstance(item, InputRecord):
            # Everything this patient's records reference is in the Bundle itself.
            item = InputRecord(item.kind, item.patient or only, None, item.full_url, item.body)
        elif (only is not None and isinstance(item, InputProblem)
              and item.issue == "no-patient-reference"):
            assert isinstance(resource, dict)
            item = InputRecord(item.kind or "", only, None, full_url if isinstance(full_url, str)
                               else None, orjson.dumps(resource))
        yield item


def _patient_aliases(entries: list[Any]) -> dict[str, str]:
    """fullUrl (and `Patient/id`) of each Patient entry → its id."""
    aliases: dict[str, str] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            ident = resource.get("id")
            if isinstance(ident, str) and ident:
                aliases[f"Patient/{ident}"] = ident
                full_url = entry.get("fullUrl")
                if isinstance(full_url, str):
                    aliases[full_url] = ident
    return aliases
