"""Every error answer is an OperationOutcome; nothing internal ever leaks into one."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from trd_cds.fhir.outcome import FhirInputError, Issue, operation_outcome

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"

_HTTP_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    408: "timeout",
    412: "required",
    413: "too-costly",
    415: "not-supported",
    422: "structure",
    503: "transient",
}


def outcome_response(
    status: int, *issues: Issue, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(operation_outcome(*issues)),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def error_response(status: int, diagnostics: str, *, code: str | None = None) -> Response:
    return outcome_response(
        status, Issue(diagnostics, code=code or _HTTP_CODES.get(status, "processing"))
    )


def unavailable_response(reason: str) -> Response:
    """503 for an assessment that could not be made in time; worth retrying shortly."""
    return outcome_response(
        503,
        Issue(f"assessment unavailable ({reason}); retry later", code="transient"),
        headers={"Retry-After": "1"},
    )


def internal_error_response() -> Response:
    return error_response(500, "internal error", code="exception")


async def _input_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirInputError)
    return outcome_response(exc.status, *exc.issues)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    return outcome_response(
        exc.status_code,
        Issue(detail, code=_HTTP_CODES.get(exc.status_code, "processing")),
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = [
        Issue(
            f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', 'invalid')}",
            expression=".".join(str(p) for p in error.get("loc", ())) or None,
        )
        for error in exc.errors()[:20]
    ]
    return outcome_response(400, *(issues or [Issue("invalid request")]))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FhirInputError, _input_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
