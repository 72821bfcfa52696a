"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from ..errors import error_response
from ..openapi import errors, ok
from ..state import services

router = APIRouter()


_STATUS = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}


@router.get("/livez", responses=ok("The process is alive", _STATUS))
async def livez() -> Response:
    return Response(orjson.dumps({"status": "ok"}), media_type="application/json")


@router.get("/readyz", responses={**ok("Ready for calls", _STATUS), **errors(503)})
async def readyz(request: Request) -> Response:
    state = services(request)
    if state.config_problem is not None:
        return error_response(503, f"not ready: {state.config_problem}")
    if not state.evaluator.ready:
        return error_response(503, f"not ready: {state.not_ready_reason or 'starting'}")
    rules = state.evaluator.rules
    body = {"status": "ready", "rulesetVersion": rules.ruleset_version if rules else None}
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/metrics",
    responses={
        200: {
            "description": "Prometheus metrics (no patient data in any label)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request) -> Response:
    return Response(services(request).metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
