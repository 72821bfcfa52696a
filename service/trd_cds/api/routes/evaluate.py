"""POST /evaluate: a FHIR R4 Bundle of one patient → assessment and cards."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from trd_cds.fhir.bundle import read_bundle

from ..as_of import AS_OF_EARLIEST, AS_OF_LATEST, parse_as_of
from ..dependencies import JsonBody, State
from ..errors import unavailable_response
from ..evaluation import AssessmentUnavailable, evaluation_answer
from ..openapi import BUNDLE, EVALUATION, errors, json_body, ok
from .timeline import link_base

router = APIRouter()


_AS_OF = {
    "name": "asOf",
    "in": "query",
    "required": False,
    "description": (
        f"Evaluation date (YYYY-MM-DD, {AS_OF_EARLIEST.isoformat()} to "
        f"{AS_OF_LATEST.isoformat()}; outside them 400); today when absent"
    ),
    "schema": {"type": "string", "format": "date"},
}


@router.post(
    "/evaluate",
    responses={
        **ok("The assessment and its cards", EVALUATION),
        **errors(400, 401, 408, 413, 415, 422, 503),
    },
    openapi_extra={
        **json_body("A FHIR R4 Bundle of one patient's resources", BUNDLE),
        "parameters": [_AS_OF],
    },
)
async def evaluate(request: Request, state: State, body: JsonBody) -> Response:
    as_of = parse_as_of(request.query_params.get("asOf"))
    patient, validate = read_bundle(body, state.limits)
    for item in patient.findings:
        state.metrics.input_findings.labels("evaluate", item["issue"], item["effect"]).inc()
    try:
        answer = await evaluation_answer(state.evaluator, patient, as_of, validate,
                                         link_base(state.settings, request))
    except AssessmentUnavailable as exc:
        return unavailable_response(exc.reason)
    return Response(orjson.dumps(answer), media_type="application/json")
