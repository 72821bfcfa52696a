"""Canonical cache keys: the same patient data always hashes the same, whatever its order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from typing import Any

import orjson

KEY_PREFIX = "trd:v1"


def canonical_resource(resource: dict[str, Any]) -> bytes:
    """The resource as JSON with every object's keys sorted (orjson sorts recursively)."""
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)


def patient_digest(resources: Iterable[dict[str, Any]]) -> str:
    """sha256 of the resources' canonical JSON, the resources sorted by that JSON.

    Sorting by each resource's own canonical bytes makes the digest independent of entry
    order and of key order; list order *inside* a resource is kept because FHIR gives it
    meaning (dosage order, coding order). Compact JSON never holds a raw newline (orjson
    escapes control characters in strings), so newlines keep the resources apart.
    """
    return hashlib.sha256(b"\n".join(sorted(map(canonical_resource, resources)))).hexdigest()


def result_key(ruleset_version: str, as_of: date, digest: str, *, prefix: str = KEY_PREFIX) -> str:
    """`trd:v1:{ruleset version}:{asOf}:{digest}`: no identifier of the patient in it."""
    return f"{prefix}:{ruleset_version}:{as_of.isoformat()}:{digest}"
