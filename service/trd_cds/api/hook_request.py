"""CDS Hooks 2.0 request and feedback validation; every violation is a 400 OperationOutcome."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from trd_cds.cards.content import override_reason_codes
from trd_cds.fhir.bundle import check_one_patient
from trd_cds.fhir.data_quality import Finding
from trd_cds.fhir.empty_elements import tolerate
from trd_cds.fhir.outcome import FhirInputError
from trd_cds.fhir.primitives import INSTANT_RE
from trd_cds.fhir.validate import check_resource

from .services import ServiceDefinition

_USER_ID = re.compile(r"(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\-.]{1,64}")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _bad(message: str, expression: str) -> FhirInputError:
    return FhirInputError.of(400, message, code="invalid", expression=expression)


@dataclass(frozen=True, slots=True)
class HookRequest:
    hook: str
    hook_instance: str
    context: dict[str, Any]
    patient_id: str
    fhir_server: str | None
    access_token: str | None
    prefetch: dict[str, Any] | None
    draft_orders: list[dict[str, Any]]
    selections: list[str]
    # What was tolerated in the draft orders (their empty elements dropped).
    draft_findings: tuple[Finding, ...] = ()


def _string(obj: dict[str, Any], name: str, path: str, *, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise _bad(f"{path}.{name} is required", f"{path}.{name}")
        return None
    if not isinstance(value, str) or not value:
        raise _bad(f"{path}.{name} must be a non-empty string", f"{path}.{name}")
    return value


def _url(value: str, path: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _bad(f"{path} must be an absolute http(s) URL", path)
    return value


# The request's nesting is bounded when it is parsed; the walk needs no bound of its own.
_UNBOUNDED = 1 << 30


def _draft_orders(
    context: dict[str, Any], tolerate_empty: bool, findings: list[Finding]
) -> list[dict[str, Any]]:
    bundle = context.get("draftOrders")
    path = "context.draftOrders"
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise _bad(f"{path} must be a FHIR Bundle", path)
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise _bad(f"{path}.entry must be an array", f"{path}.entry")
    orders: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        where = f"{path}.entry[{index}].resource"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise _bad(f"{where} must be a FHIR resource", where)
        if tolerate_empty:
            resource, found = tolerate(resource, depth=1, max_depth=_UNBOUNDED)
            findings.extend(item for item, _ in found)
        check_resource(resource, where)
        orders.append(resource)
    return orders


def parse_hook_request(
    body: Any, service: ServiceDefinition, *, tolerate_empty: bool = False
) -> HookRequest:
    """``tolerate_empty``: drop the empty elements of draft orders (see fhir.empty_elements)
    instead of refusing them."""
    if not isinstance(body, dict):
        raise _bad("the request must be a JSON object", "$")
    hook = _string(body, "hook", "$")
    if hook != service.hook:
        raise _bad(f"service {service.id} answers the {service.hook} hook, not {hook}", "hook")
    hook_instance = _string(body, "hookInstance", "$")
    assert hook_instance is not None
    try:
        uuid.UUID(hook_instance)
    except ValueError:
        raise _bad("hookInstance must be a UUID", "hookInstance") from None

    fhir_server = _string(body, "fhirServer", "$", required=False)
    if fhir_server is not None:
        _url(fhir_server, "fhirServer")
    access_token: str | None = None
    authorization = body.get("fhirAuthorization")
    if authorization is not None:
        if not isinstance(authorization, dict):
            raise _bad("fhirAuthorization must be an object", "fhirAuthorization")
        if fhir_server is None:
            raise _bad("fhirAuthorization requires fhirServer", "fhirServer")
        access_token = _string(authorization, "access_token", "fhirAuthorization")
        token_type = _string(authorization, "token_type", "fhirAuthorization")
        if token_type is not None and token_type.lower() != "bearer":
            raise _bad(
                "fhirAuthorization.token_type must be Bearer", "fhirAuthorization.token_type"
            )
        expires = authorization.get("expires_in")
        if not isinstance(expires, int) or isinstance(expires, bool) or expires < 0:
            raise _bad(
                "fhirAuthorization.expires_in must be a non-negative integer",
                "fhirAuthorization.expires_in",
            )
        _string(authorization, "scope", "fhirAuthorization")
        _string(authorization, "subject", "fhirAuthorization")

    context = body.get("context")
    if not isinstance(context, dict):
        raise _bad("context is required and must be an object", "context")
    user_id = _string(context, "userId", "context")
    if user_id is None or not _USER_ID.fullmatch(user_id):
        raise _bad(
            "context.userId must reference a Practitioner, PractitionerRole, Patient or RelatedPerson",
            "context.userId",
        )
    patient_id = _string(context, "patientId", "context")
    assert patient_id is not None
    if not _FHIR_ID.fullmatch(patient_id):
        raise _bad("context.patientId must be a FHIR id", "context.patientId")
    _string(context, "encounterId", "context", required=False)

    draft_orders: list[dict[str, Any]] = []
    draft_findings: list[Finding] = []
    selections: list[str] = []
    if service.needs_draft_orders:
        draft_orders = _draft_orders(context, tolerate_empty, draft_findings)
        # Orders drafted for someone else must not be checked against this patient's record.
        check_one_patient(
            [
                (f"context.draftOrders.entry[{i}].resource", None, r)
                for i, r in enumerate(draft_orders)
            ],
            expected_patient_id=patient_id,
        )
    if service.needs_selections:
        raw = context.get("selections")
        if not isinstance(raw, list) or not raw or not all(isinstance(s, str) and s for s in raw):
            raise _bad(
                "context.selections must be a non-empty array of strings", "context.selections"
            )
        drafted = {f"{r['resourceType']}/{r.get('id')}" for r in draft_orders}
        for index, selection in enumerate(raw):
            if selection not in drafted:
                raise _bad(
                    f"context.selections[{index}] names no resource of draftOrders",
                    f"context.selections[{index}]",
                )
        selections = list(raw)

    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise _bad("prefetch must be an object", "prefetch")
    return HookRequest(
        hook=hook,
        hook_instance=hook_instance,
        context=context,
        patient_id=patient_id,
        fhir_server=fhir_server,
        access_token=access_token,
        prefetch=prefetch,
        draft_orders=draft_orders,
        selections=selections,
        draft_findings=tuple(draft_findings),
    )


OUTCOMES = frozenset({"accepted", "overridden"})
MAX_FEEDBACK_ENTRIES = 500


def _coding(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{path} must be a Coding", path)
    _string(value, "code", path)
    _string(value, "system", path)
    _string(value, "display", path, required=False)
    return value


def parse_feedback(body: Any) -> list[dict[str, Any]]:
    """The feedback entries, each validated; returns them as plain dicts ready to store."""
    if not isinstance(body, dict):
        raise _bad("the request must be a JSON object", "$")
    entries = body.get("feedback")
    if not isinstance(entries, list) or not entries:
        raise _bad("feedback must be a non-empty array", "feedback")
    if len(entries) > MAX_FEEDBACK_ENTRIES:
        raise FhirInputError.of(
            413, f"more than {MAX_FEEDBACK_ENTRIES} feedback entries", code="too-costly"
        )
    kept: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        path = f"feedback[{index}]"
        if not isinstance(entry, dict):
            raise _bad(f"{path} must be an object", path)
        card = _string(entry, "card", path)
        outcome = _string(entry, "outcome", path)
        if outcome not in OUTCOMES:
            raise _bad(f"{path}.outcome must be accepted or overridden", f"{path}.outcome")
        timestamp = _string(entry, "outcomeTimestamp", path)
        if timestamp is None or not INSTANT_RE.fullmatch(timestamp):
            raise _bad(
                f"{path}.outcomeTimestamp must be an instant with a timezone",
                f"{path}.outcomeTimestamp",
            )
        record: dict[str, Any] = {"card": card, "outcome": outcome, "outcomeTimestamp": timestamp}
        accepted = entry.get("acceptedSuggestions")
        if accepted is not None:
            if outcome != "accepted":
                raise _bad(
                    f"{path}.acceptedSuggestions only goes with outcome accepted",
                    f"{path}.acceptedSuggestions",
                )
            if not isinstance(accepted, list) or not accepted:
                raise _bad(
                    f"{path}.acceptedSuggestions must be a non-empty array",
                    f"{path}.acceptedSuggestions",
                )
            for s_index, suggestion in enumerate(accepted):
                where = f"{path}.acceptedSuggestions[{s_index}]"
                if not isinstance(suggestion, dict):
                    raise _bad(f"{where} must be an object", where)
                _string(suggestion, "id", where)
            record["acceptedSuggestions"] = [{"id": s["id"]} for s in accepted]
        override = entry.get("overrideReason")
        if override is not None:
            where = f"{path}.overrideReason"
            if outcome != "overridden":
                raise _bad(f"{where} only goes with outcome overridden", where)
            if not isinstance(override, dict) or not ({"reason", "userComment"} & override.keys()):
                raise _bad(f"{where} must hold a reason and/or a userComment", where)
            reason = override.get("reason")
            kept_override: dict[str, Any] = {}
            if reason is not None:
                coding = _coding(reason, f"{where}.reason")
                # Only the reasons the cards offered (cards/content.toml) are meaningful to count.
                if (coding.get("system"), coding.get("code")) not in override_reason_codes():
                    raise _bad(f"{where}.reason is not one of the override reasons the cards offer",
                               f"{where}.reason")
                kept_override["reason"] = coding
            # Validated but not kept: free text may name the patient, and feedback is stored
            # as card ids and outcomes only.
            _string(override, "userComment", where, required=False)
            if kept_override:
                record["overrideReason"] = kept_override
        kept.append(record)
    return kept
