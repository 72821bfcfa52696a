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
from .timeline import link_base

router = APIRouter()


# The evaluation dates the service answers for. The rules look back years from asOf (the
# episode lookback, trial windows) and ahead weeks; far from both ends of the calendar the
# date arithmetic of the rules always has room, and no clinical question lies outside.
AS_OF_EARLIEST = date(1900, 1, 1)
AS_OF_LATEST = date(2999, 12, 31)


def parse_as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        if len(value) != 10:
            raise ValueError(value)
        as_of = date.fromisoformat(value)
    except ValueError:
        raise FhirInputError.of(400, "asOf must be a date, YYYY-MM-DD", expression="asOf") from None
    if not AS_OF_EARLIEST <= as_of <= AS_OF_LATEST:
        raise FhirInputError.of(
            400,
            f"asOf must lie between {AS_OF_EARLIEST.isoformat()} and {AS_OF_LATEST.isoformat()}",
            code="value",
            expression="asOf",
        )
    return as_of


async def evaluate_patient(
    evaluator: Evaluator, patient: PatientData, as_of: date, validate: Validator | None = None,
    link_base: str | None = None,
) -> dict[str, object]:
    """The /evaluate answer; shared with the `trd-cds evaluate` command.

    `issues`, only when the input had problems that were tolerated: an OperationOutcome of
    warnings, one per finding, naming where it is in the Bundle."""
    result = await evaluator.evaluate(
        patient, as_of, hook="patient-view", service_id="evaluate", validate=validate,
        link_base=link_base,
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
        answer = await evaluate_patient(state.evaluator, patient, as_of, validate,
                                        link_base(state.settings, request))
    except AssessmentUnavailable as exc:
        return unavailable_response(exc.reason)
    return Response(orjson.dumps(answer), media_type="application/json")
