"""CDS Hooks prefetch: the templates we register, and turning a request's prefetch (plus the
FHIR server for what is missing) into one patient's entries."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .client import FhirClient, FhirFetchError, bundle_resources
from .outcome import FhirInputError

log = logging.getLogger(__name__)

_OBSERVATION_CODES = ",".join(
    f"http://loinc.org|{code}"
    for code in (
        "44261-6",  # PHQ-9 total
        "44260-8",  # PHQ-9 item 9 (crisis)
        "98979-8",  # eGFR CKD-EPI 2021 (lithium safety)
        "62238-1",  # eGFR CKD-EPI
        "85354-9",  # blood pressure panel (esketamine safety)
        "8480-6",  # systolic blood pressure
        "8462-4",  # diastolic blood pressure
    )
)

# Only the recommended query forms: an instance read, and type searches on the patient
# reference with `code=` token lists.
PREFETCH_TEMPLATES: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationDispenses": "MedicationDispense?patient={{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&code={_OBSERVATION_CODES}",
    "procedures": "Procedure?subject={{context.patientId}}",
}

# Each group needs at least one key resolved (a null counts: "no such data") to evaluate.
REQUIRED_GROUPS: tuple[tuple[str, ...], ...] = (
    ("patient",),
    ("medicationStatements", "medicationRequests"),
)

_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}")


def render(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill `{{context.x}}` tokens from root-level primitive context fields; None if one lacks."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = context.get(match.group(1))
        if not isinstance(found, str | int | float) or isinstance(found, bool):
            missing = True
            return ""
        return quote(str(found), safe="")

    rendered = _TOKEN.sub(value, template)
    return None if missing else rendered


@dataclass(slots=True)
class PrefetchResult:
    entries: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    # key → how it was resolved: prefetch, empty, fhir, failed:<reason>, unavailable
    sources: dict[str, str] = field(default_factory=dict)

    def missing_required(self) -> list[str]:
        def resolved(key: str) -> bool:
            return self.sources.get(key, "").split(":")[0] in ("prefetch", "empty", "fhir")

        missing: list[str] = []
        for group in REQUIRED_GROUPS:
            if not any(resolved(key) for key in group):
                missing.append(" or ".join(group))
        has_patient = any(r["resourceType"] == "Patient" for _, _, r in self.entries)
        if not has_patient and "patient" not in missing:
            missing.append("patient")
        return missing


def _prefetch_entries(key: str, value: Any) -> list[tuple[str, str | None, dict[str, Any]]]:
    path = f"prefetch.{key}"
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise FhirInputError.of(400, f"{path} must be a FHIR resource or null", expression=path)
    if value["resourceType"] != "Bundle":
        return [(path, None, value)]
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise FhirInputError.of(400, f"{path}.entry must be an array", expression=f"{path}.entry")
    found: list[tuple[str, str | None, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        where = f"{path}.entry[{index}]"
        if not isinstance(entry, dict):
            raise FhirInputError.of(422, f"{where} must be an object", expression=where)
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirInputError.of(
                422, f"{where}.resource must be a FHIR resource", expression=f"{where}.resource"
            )
        full_url = entry.get("fullUrl")
        found.append(
            (f"{where}.resource", full_url if isinstance(full_url, str) else None, resource)
        )
    return found


async def resolve_prefetch(
    prefetch: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    *,
    fhir_server: str | None,
    access_token: str | None,
    client: FhirClient | None,
    deadline_seconds: float,
    on_fetch: Callable[[str, str], None] | None = None,
) -> PrefetchResult:
    """Key by key: use what the EHR sent; fetch what is missing or failed from fhirServer."""
    result = PrefetchResult()
    to_fetch: dict[str, str] = {}
    given = prefetch or {}
    for key, template in PREFETCH_TEMPLATES.items():
        if key in given:
            value = given[key]
            if value is None:
                result.sources[key] = "empty"
                continue
            if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
                result.sources[key] = "failed:ehr"
            else:
                result.entries.extend(_prefetch_entries(key, value))
                result.sources[key] = "prefetch"
                continue
        else:
            result.sources[key] = "unavailable"
        query = render(template, context)
        if query is not None:
            to_fetch[key] = query

    if to_fetch and fhir_server and client is not None:
        await _fetch_missing(
            result, to_fetch, fhir_server, access_token, client, deadline_seconds, on_fetch
        )
    return result


async def _fetch_missing(
    result: PrefetchResult,
    queries: dict[str, str],
    fhir_server: str,
    token: str | None,
    client: FhirClient,
    deadline_seconds: float,
    on_fetch: Callable[[str, str], None] | None,
) -> None:
    async def one(key: str, query: str) -> None:
        try:
            resources = await client.fetch(fhir_server, query, token)
        except FhirFetchError as exc:
            result.sources[key] = f"failed:{exc.reason}"
            log.warning(
                "fhir fallback for %s failed: %s", key, exc.reason, extra={"prefetch_key": key}
            )
            if on_fetch:
                on_fetch(key, exc.reason)
            return
        for index, resource in enumerate(resources):
            if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
                result.entries.append((f"fhirServer.{key}[{index}]", None, resource))
        result.sources[key] = "fhir"
        if on_fetch:
            on_fetch(key, "ok")

    tasks = [asyncio.ensure_future(one(key, query)) for key, query in queries.items()]
    try:
        async with asyncio.timeout(deadline_seconds):
            await asyncio.gather(*tasks)
    except TimeoutError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for key in queries:
            if result.sources.get(key) not in ("fhir",) and not result.sources.get(
                key, ""
            ).startswith("failed:"):
                result.sources[key] = "failed:deadline"
                if on_fetch:
                    on_fetch(key, "deadline")


def deduplicate(
    entries: list[tuple[str, str | None, dict[str, Any]]],
) -> list[tuple[str, str | None, dict[str, Any]]]:
    """One copy per resource type and id: several keys (or pages) may return the same one."""
    seen: set[tuple[str, str]] = set()
    kept: list[tuple[str, str | None, dict[str, Any]]] = []
    for entry in entries:
        resource = entry[2]
        rid = resource.get("id")
        if isinstance(rid, str):
            identity = (str(resource["resourceType"]), rid)
            if identity in seen:
                continue
            seen.add(identity)
        kept.append(entry)
    return kept


__all__ = [
    "PREFETCH_TEMPLATES",
    "PrefetchResult",
    "bundle_resources",
    "deduplicate",
    "render",
    "resolve_prefetch",
]
