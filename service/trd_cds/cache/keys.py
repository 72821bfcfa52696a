"""Canonical cache keys: the same patient data always hashes the same, whatever its order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import orjson

KEY_PREFIX = "trd:v1"


def canonical_resource(resource: dict[str, Any]) -> bytes:
    """The resource as JSON with every object's keys sorted (orjson sorts recursively)."""
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)


def patient_digest(
    resources: Iterable[dict[str, Any]], findings: Iterable[Mapping[str, object]] = ()
) -> str:
    """sha256 of the resources' canonical JSON (keys sorted), in an order of their own, and of
    the data-quality findings made while reading them (in any order).

    The findings count because the same resources can come from different input: a resource
    whose empty elements were dropped equals the same resource sent without them, yet only
    the answer to the first reports the drop. Without findings the digest is that of the
    resources alone.

    The order makes the digest independent of entry order, and sorted keys of key order; list
    order *inside* a resource is kept because FHIR gives it meaning (dosage order, coding
    order). Usually every resource has its own type and id: they are sorted by those and
    encoded in one call. Otherwise (no id, or the same resource twice) each is encoded alone
    and they are sorted by their bytes; compact JSON never holds a raw newline (orjson escapes
    control characters in strings), so newlines keep them apart. The data decides the way,
    and each way hashes its own prefix.
    """
    digest = _resources_digest(resources)
    kept_findings = [orjson.dumps(item, option=orjson.OPT_SORT_KEYS) for item in findings]
    if not kept_findings:
        return digest
    encoded = b"\n".join(sorted(kept_findings))
    return hashlib.sha256(b"with-findings\n" + digest.encode() + b"\n" + encoded).hexdigest()


def _resources_digest(resources: Iterable[dict[str, Any]]) -> str:
    kept = list(resources)
    by_id: dict[str, dict[str, Any]] = {}
    for resource in kept:
        kind, ident = resource.get("resourceType"), resource.get("id")
        if type(kind) is not str or type(ident) is not str:
            break
        by_id[f"{kind}/{ident}"] = resource
    else:
        # Distinct keys, one per resource (a type with a '/' in it could only merge two).
        if len(by_id) == len(kept):
            ordered = [by_id[key] for key in sorted(by_id)]
            encoded = orjson.dumps(ordered, option=orjson.OPT_SORT_KEYS)
            return hashlib.sha256(b"by-id\n" + encoded).hexdigest()
    encoded = b"\n".join(sorted(map(canonical_resource, kept)))
    return hashlib.sha256(b"by-content\n" + encoded).hexdigest()


def result_key(ruleset_version: str, as_of: date, digest: str, *, prefix: str = KEY_PREFIX) -> str:
    """`trd:v1:{ruleset version}:{asOf}:{digest}`: no identifier of the patient in it."""
    return f"{prefix}:{ruleset_version}:{as_of.isoformat()}:{digest}"
