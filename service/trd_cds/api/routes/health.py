"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from ..errors import error_response
from ..state import services

router = APIRouter()


@router.get("/livez")
async def livez() -> Response:
    return Response(orjson.dumps({"status": "ok"}), media_type="application/json")


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    state = services(request)
    if state.config_problem is not None:
        return error_response(503, f"not ready: {state.config_problem}")
    if not state.evaluator.ready:
        return error_response(503, f"not ready: {state.not_ready_reason or 'starting'}")
    rules = state.evaluator.rules
    body = {"status": "ready", "rulesetVersion": rules.ruleset_version if rules else None}
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(services(request).metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
