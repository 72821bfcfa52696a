"""Reading a request body under the size limit, before any of it is parsed."""

from __future__ import annotations

import asyncio

from fastapi import Request

from trd_cds.fhir.outcome import FhirInputError

JSON_TYPES = frozenset({"application/json", "application/fhir+json"})


def _too_large(limit: int) -> FhirInputError:
    return FhirInputError.of(413, f"body exceeds {limit} bytes", code="too-costly")


def check_json_content_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise FhirInputError.of(
            415, "send application/fhir+json or application/json", code="not-supported"
        )


async def read_body(request: Request, limit: int, *, timeout: float | None = None) -> bytes:
    """The body, refused (413) past `limit` bytes and (408) when it takes longer than
    `timeout` seconds to arrive: a client dripping a body must not hold a worker for long."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise FhirInputError.of(408, "request body too slow", code="timeout") from None
    return b"".join(chunks)
