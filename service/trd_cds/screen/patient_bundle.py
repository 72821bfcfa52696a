"""One patient's records → the FHIR Bundle ``/evaluate`` would be sent for them.

The entries are put in one canonical order (the Patient first, then by type and content), so
the local and the Spark runner, which meet the records in different orders, build the same
bytes. The Patient entry gets the fullUrl ``urn:uuid:<id>`` when it came without one: Bulk
exports that reference patients as ``urn:uuid:<id>`` are then read as one patient, as they
are meant."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

# (resource type, fullUrl or None, the resource's JSON)
Entry = tuple[str, str | None, bytes]


def _order(entry: Entry) -> tuple[bool, str, bytes]:
    kind, _, body = entry
    return kind != "Patient", kind, body


def patient_bundle(patient: str, entries: Iterable[Entry]) -> bytes:
    parts: list[bytes] = []
    for kind, full_url, body in sorted(entries, key=_order):
        if full_url is None and kind == "Patient":
            full_url = f"urn:uuid:{patient}"
        if full_url is None:
            parts.append(b'{"resource":' + body + b"}")
        else:
            parts.append(b'{"fullUrl":' + orjson.dumps(full_url) + b',"resource":' + body + b"}")
    return b'{"resourceType":"Bundle","type":"collection","entry":[' + b",".join(parts) + b"]}"
