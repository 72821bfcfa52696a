"""The trial timeline page: its data endpoint and its static assets (served as they are).

The page reads one cached assessment, named by the launch handle a card's link carried (in the
`X-Launch-Handle` header, never in the URL). The handle is the credential: the service signed
it, short-lived, in an answer to an authenticated CDS client; a JWT-authenticated caller sends
one too (it names the assessment). CORS is the service's (TRD_CORS_ORIGINS).
"""

from __future__ import annotations

import logging
from typing import Any, cast

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from trd_cds.assessment import Assessment, no_orders
from trd_cds.settings import Settings
from trd_cds.timeline import STATIC_DIR
from trd_cds.timeline.handle import HandleRefused
from trd_cds.timeline.launch import DATA_PATH
from trd_cds.timeline.words import explanation

from ..errors import error_response
from ..openapi import errors, ok
from ..state import services

log = logging.getLogger(__name__)
router = APIRouter()

HANDLE_HEADER = "x-launch-handle"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

_TIMELINE: dict[str, Any] = {
    "type": "object",
    "required": ["assessment", "cards", "explanation"],
    "properties": {
        "assessment": {"type": "object"},
        "cards": {"type": "array", "items": {"type": "object"}},
        "explanation": {"type": "object"},
    },
}


def link_base(settings: Settings, request: Request) -> str | None:
    """The address the cards' links name: the configured public one; in development, without
    one, the address this request came to (never in production: a Host header is the
    caller's word)."""
    if settings.public_base_url:
        return settings.public_base_url
    return str(request.base_url) if settings.development else None


@router.get(
    DATA_PATH,
    responses={
        **ok("The cached assessment the handle names, its cards' words and the explanation",
             _TIMELINE),
        **errors(401, 404, 503),
    },
    openapi_extra={"parameters": [{
        "name": "X-Launch-Handle", "in": "header", "required": True,
        "description": "The launch handle of a card's timeline link",
        "schema": {"type": "string"},
    }]},
)
async def timeline_assessment(request: Request) -> Response:
    state = services(request)
    linker = state.evaluator.linker
    if linker is None or state.evaluator.card_builder is None:
        return error_response(503, "the timeline is not available yet")
    handle = request.headers.get(HANDLE_HEADER)
    if not handle:
        return _refused("no-handle")
    try:
        grant = linker.handles.verify(handle)
    except HandleRefused as exc:
        return _refused(exc.reason)
    assessment = await state.cache.get(grant.cache_key)
    if assessment is None:
        return error_response(
            404, "this assessment is no longer kept: open the timeline from a new card",
            code="not-found")
    cards = state.evaluator.card_builder(
        cast(Assessment, assessment), hook="patient-view", draft_orders=[],
        order_check=no_orders())
    body = {
        "assessment": assessment,
        "cards": [{k: c[k] for k in ("summary", "indicator", "detail") if k in c}
                  for c in cards],
        "explanation": explanation(assessment),
        "expiresAt": grant.expires_at,
    }
    return Response(orjson.dumps(body), media_type="application/json", headers=_NO_STORE)


def _refused(reason: str) -> Response:
    log.warning("timeline handle refused: %s", reason, extra={"handleRefused": reason})
    response = error_response(401, "a valid launch handle is required", code="login")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def content_security_policy(settings: Settings) -> str:
    """The page loads only its own files and fetches only this service (and, for a SMART
    launch, the EHR's origins); it may be framed by the EHR origins of TRD_CORS_ORIGINS."""
    connect = " ".join(["'self'", *settings.smart_origins])
    ancestors = "*" if "*" in settings.cors_origins else " ".join(
        ["'self'", *settings.cors_origins])
    return (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; frame-ancestors {ancestors}; base-uri 'none'; "
            f"form-action 'none'")


class TimelineStatic(StaticFiles):
    """The page's files, with its security headers."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(directory=STATIC_DIR, html=True)
        self._headers = {
            "Content-Security-Policy": content_security_policy(settings),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        }

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(self._headers)
        return response


def smart_config(settings: Settings) -> dict[str, Any]:
    """What the SMART launch page needs: the client id and the EHR origins it may use."""
    return {"clientId": settings.smart_client_id, "origins": settings.smart_origins}


@router.get("/timeline/smart-config.json",
            responses={**ok("The SMART launch settings of the timeline page", {"type": "object"})})
async def timeline_smart_config(request: Request) -> Response:
    return Response(orjson.dumps(smart_config(services(request).settings)),
                    media_type="application/json", headers={"Cache-Control": "no-cache"})
