"""POST /evaluate: a FHIR R4 Bundle of one patient → assessment and cards."""

from __future__ import annotations

from datetime import date

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from trd_cds.fhir.bundle import Validator, read_bundle
from trd_cds.fhir.data_quality import warnings_outcome
from trd_cds.fhir.outcome import FhirInputError
from trd_cds.fhir.patient_data import PatientData

from ..body import check_json_content_type, read_body
from ..errors import unavailable_response
from ..evaluation import AssessmentUnavailable, Evaluator
from ..openapi import BUNDLE, EVALUATION, errors, json_body, ok
from ..state import services

router = APIRouter()


def parse_as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise FhirInputError.of(400, "asOf must be a date, YYYY-MM-DD", expression="asOf") from None


async def evaluate_patient(
    evaluator: Evaluator, patient: PatientData, as_of: date, validate: Validator | None = None
) -> dict[str, object]:
    """The /evaluate answer; shared with the `trd-cds evaluate` command.

    `issues`, only when the input had problems that were tolerated: an OperationOutcome of
    warnings, one per finding, naming where it is in the Bundle."""
    result = await evaluator.evaluate(
        patient, as_of, hook="patient-view", service_id="evaluate", validate=validate
    )
    answer: dict[str, object] = {"assessment": result.assessment, "cards": result.cards}
    issues = warnings_outcome(patient.findings, patient.finding_locations)
    if issues is not None:
        answer["issues"] = issues
    return answer


_AS_OF = {
    "name": "asOf",
    "in": "query",
    "required": False,
    "description": "Evaluation date (YYYY-MM-DD); today when absent",
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
async def evaluate(request: Request) -> Response:
    state = services(request)
    as_of = parse_as_of(request.query_params.get("asOf"))
    check_json_content_type(request)
    body = await read_body(
        request, state.limits.max_bytes, timeout=state.settings.body_read_timeout_seconds
    )
    patient, validate = read_bundle(body, state.limits)
    for item in patient.findings:
        state.metrics.input_findings.labels("evaluate", item["issue"], item["effect"]).inc()
    try:
        answer = await evaluate_patient(state.evaluator, patient, as_of, validate)
    except AssessmentUnavailable as exc:
        return unavailable_response(exc.reason)
    return Response(orjson.dumps(answer), media_type="application/json")
