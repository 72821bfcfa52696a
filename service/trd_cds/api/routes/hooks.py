"""CDS Hooks 2.0: discovery, service calls and feedback."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from trd_cds.fhir.bundle import load_json, patient_data_from_entries
from trd_cds.fhir.client_policy import FhirServerPolicy, FhirServerRefused
from trd_cds.fhir.empty_elements import may_hold_empty
from trd_cds.fhir.outcome import FhirInputError, Issue
from trd_cds.fhir.patient_data import PatientData
from trd_cds.fhir.prefetch import deduplicate, resolve_prefetch

from ..dependencies import JsonBody, State
from ..errors import outcome_response, unavailable_response
from ..evaluation import AssessmentUnavailable, card_type
from ..hook_request import parse_feedback, parse_hook_request
from ..openapi import CARDS, DISCOVERY, FEEDBACK, HOOK_REQUEST, errors, json_body, ok
from ..services import SERVICES, ServiceDefinition, discovery_document
from ..state import Services
from .timeline import link_base

log = logging.getLogger(__name__)
router = APIRouter()

_DISCOVERY = orjson.dumps(discovery_document())
_background: set[asyncio.Task[None]] = set()


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _service(service_id: str) -> ServiceDefinition:
    service = SERVICES.get(service_id)
    if service is None:
        raise FhirInputError.of(404, "no such CDS service", code="not-found")
    return service


@router.get(
    "/cds-services",
    responses={**ok("The CDS services offered", DISCOVERY), **errors(401)},
)
async def discovery() -> Response:
    return Response(_DISCOVERY, media_type="application/json")


@router.post(
    "/cds-services/{service_id}",
    responses={
        **ok("Cards (possibly none)", CARDS),
        **errors(400, 401, 404, 408, 412, 413, 415, 422, 503),
    },
    openapi_extra=json_body("A CDS Hooks 2.0 request", HOOK_REQUEST),
)
async def call_service(
    service: Annotated[ServiceDefinition, Depends(_service)], state: State, body: JsonBody,
    request: Request,
) -> Response:
    document = load_json(body, state.limits)
    # Empty elements are looked for where the body may hold one, and in what the FHIR
    # server sent (never seen as bytes here).
    sent_empty = may_hold_empty(body)
    hook = parse_hook_request(
        document, service, tolerate_empty=sent_empty and not state.limits.strict
    )
    fhir_server = _usable_fhir_server(hook.fhir_server, state.fhir_policy)
    as_of = date.today()
    # Drafted orders are resources to check like the record's: they count against the limit,
    # before anything is fetched for them.
    _check_entry_count(len(hook.draft_orders), state)

    gathered = await resolve_prefetch(
        hook.prefetch,
        hook.context,
        fhir_server=fhir_server,
        access_token=hook.access_token,
        client=state.fhir_client,
        deadline_seconds=state.settings.fhir_deadline_seconds,
        on_fetch=state.metrics.fhir_fetch,
    )
    entries = deduplicate(gathered.entries)
    _check_entry_count(len(entries) + len(hook.draft_orders), state)
    missing = gathered.missing_required()
    patient, validate = patient_data_from_entries(
        entries,
        state.limits,
        expected_patient_id=hook.patient_id,
        require_patient=not missing,
        may_hold_empty=sent_empty or "fhir" in gathered.sources.values(),
    )
    for item in (*patient.findings, *hook.draft_findings):
        state.metrics.input_findings.labels(service.id, item["issue"], item["effect"]).inc()
    if missing:
        validate()
        fallback_off = hook.fhir_server is not None and fhir_server is None
        return await _missing_data(
            state, service, patient, as_of, hook.draft_orders, missing, fallback_off
        )
    try:
        evaluation = await state.evaluator.evaluate(
            patient,
            as_of,
            hook=hook.hook,
            service_id=service.id,
            draft_orders=hook.draft_orders,
            validate=validate,
            link_base=link_base(state.settings, request),
        )
    except AssessmentUnavailable as exc:
        return unavailable_response(exc.reason)
    _remember_cards(state, evaluation.cards)
    return _json({"cards": evaluation.cards})


def _check_entry_count(count: int, state: Services) -> None:
    if count > state.limits.max_entries:
        raise FhirInputError.of(
            413,
            f"more than {state.limits.max_entries} resources (prefetch and drafted orders)",
            code="too-costly",
        )


def _usable_fhir_server(url: str | None, policy: FhirServerPolicy) -> str | None:
    """The fhirServer to fetch missing data from; None when there is none or the fallback is
    off. A server the policy refuses is the caller's error (400), and is never contacted."""
    if url is None or not policy.fallback_enabled:
        return None
    try:
        policy.check(url)
    except FhirServerRefused as exc:
        raise FhirInputError.of(400, str(exc), code="security", expression="fhirServer") from None
    return url


async def _missing_data(
    state: Services,
    service: ServiceDefinition,
    patient: PatientData,
    as_of: date,
    drafts: list[dict[str, Any]],
    missing: list[str],
    fallback_off: bool = False,
) -> Response:
    """412, unless the data in hand already shows a crisis: that card goes out regardless."""
    try:
        cards = state.evaluator.crisis_only(
            patient, as_of, hook=service.hook, service_id=service.id, draft_orders=drafts
        )
    except AssessmentUnavailable:
        cards = []
    if cards:
        _remember_cards(state, cards)
        return _json({"cards": cards})
    how = (
        "prefetch it: this service does not read from FHIR servers"
        if fallback_off
        else "prefetch it, or send fhirServer and fhirAuthorization"
    )
    return outcome_response(
        412, Issue(f"required data unavailable: {'; '.join(missing)} ({how})", code="required")
    )


def _remember_cards(state: Services, cards: list[dict[str, Any]]) -> None:
    # Off the response path: remembering card types only serves later feedback.
    types = {card["uuid"]: card_type(card) for card in cards if isinstance(card.get("uuid"), str)}
    if not types:
        return
    task = asyncio.ensure_future(state.feedback.remember_cards(types))
    _background.add(task)
    task.add_done_callback(_background.discard)


@router.post(
    "/cds-services/{service_id}/feedback",
    responses={
        **ok("Feedback recorded", {"type": "object"}),
        **errors(400, 401, 404, 408, 413, 415),
    },
    openapi_extra=json_body("CDS Hooks 2.0 feedback", FEEDBACK),
)
async def feedback(
    service: Annotated[ServiceDefinition, Depends(_service)], state: State, body: JsonBody
) -> Response:
    document = load_json(body, state.limits)
    entries = parse_feedback(document)
    types = await state.feedback.card_types([entry["card"] for entry in entries])
    await state.feedback.record(service.id, entries)
    for entry in entries:
        state.metrics.feedback.labels(
            service.id, entry["outcome"], types.get(entry["card"], "unknown")
        ).inc()
    return _json({})
