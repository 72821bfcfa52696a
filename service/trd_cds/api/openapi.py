"""What the OpenAPI document declares beyond FastAPI's inference: request bodies (the routes
read raw bytes under limits), every status each route can answer, and the JWT scheme.

Every error is an OperationOutcome (`application/fhir+json`); a status not listed here is a
bug (the fuzz tests hold the service to this list).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .services import SERVICES

FHIR_JSON = "application/fhir+json"

OPERATION_OUTCOME: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

_WHY = {
    400: "Invalid request (CDS Hooks or FHIR rules broken); the OperationOutcome says where",
    401: "No valid CDS client JWT (`WWW-Authenticate: Bearer`); the reason is only logged",
    404: "No such CDS service",
    408: "The request body arrived too slowly",
    412: "Required prefetch data missing and not obtainable from the FHIR server",
    413: "Body, entry count, nesting or feedback batch over the configured limits",
    415: "Body is not application/json or application/fhir+json",
    422: "A FHIR resource is not valid R4 (wrong type, unparseable date, required element "
    "missing; empty elements only with TRD_STRICT_VALIDATION=true)",
    503: "Not ready, overloaded, or the assessment could not be made in time (`Retry-After`)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": _WHY[status],
            "content": {FHIR_JSON: {"schema": OPERATION_OUTCOME}},
        }
        for status in statuses
    }


def ok(description: str, schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {"application/json": {"schema": schema}}}}


def json_body(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    content = {"schema": schema}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": content, FHIR_JSON: content},
        }
    }


_CODING = {
    "type": "object",
    "required": ["system", "code"],
    "properties": {
        "system": {"type": "string", "minLength": 1},
        "code": {"type": "string", "minLength": 1},
        "display": {"type": "string"},
    },
}

CARD: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "indicator", "source"],
    "properties": {
        "uuid": {"type": "string"},
        "summary": {"type": "string"},
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": {"type": "object"},
    },
}
CARDS = {
    "type": "object",
    "required": ["cards"],
    "properties": {"cards": {"type": "array", "items": CARD}},
}

BUNDLE: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"type": "string"},
        "entry": {
            "type": "array",
            "items": {"type": "object", "properties": {"resource": {"type": "object"}}},
        },
    },
}

HOOK_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"enum": ["patient-view", "order-select", "order-sign"]},
        "hookInstance": {"type": "string", "format": "uuid"},
        "fhirServer": {"type": "string", "format": "uri"},
        "fhirAuthorization": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "scope", "subject"],
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer", "minimum": 0},
                "scope": {"type": "string"},
                "subject": {"type": "string"},
            },
        },
        "context": {
            "type": "object",
            "required": ["userId", "patientId"],
            "properties": {
                "userId": {"type": "string"},
                "patientId": {"type": "string"},
                "encounterId": {"type": "string"},
                "selections": {"type": "array", "items": {"type": "string"}},
                "draftOrders": BUNDLE,
            },
        },
        "prefetch": {"type": "object", "additionalProperties": {"type": ["object", "null"]}},
    },
}

FEEDBACK: dict[str, Any] = {
    "type": "object",
    "required": ["feedback"],
    "properties": {
        "feedback": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["card", "outcome", "outcomeTimestamp"],
                "properties": {
                    "card": {"type": "string"},
                    "outcome": {"enum": ["accepted", "overridden"]},
                    "outcomeTimestamp": {"type": "string", "format": "date-time"},
                    "acceptedSuggestions": {
                        "type": "array",
                        "items": {"type": "object", "required": ["id"]},
                    },
                    "overrideReason": {
                        "type": "object",
                        "properties": {"reason": _CODING, "userComment": {"type": "string"}},
                    },
                },
            },
        }
    },
}

DISCOVERY: dict[str, Any] = {
    "type": "object",
    "required": ["services"],
    "properties": {
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hook", "id", "description"],
                "properties": {
                    "hook": {"type": "string"},
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        }
    },
}

FINDING: dict[str, Any] = {
    "type": "object",
    "required": ["resource", "path", "issue", "effect"],
    "properties": {
        "resource": {"type": "string", "description": "`Type/id`, or `Type` without an id"},
        "path": {"type": "string", "description": "from the resource type, e.g. "
                 "`MedicationStatement.dosage[0].doseAndRate`"},
        "issue": {"type": "string", "description": "e.g. `empty-element`"},
        "effect": {"type": "string", "description": "e.g. `dropped`"},
    },
}

EVALUATION: dict[str, Any] = {
    "type": "object",
    "required": ["assessment", "cards"],
    "properties": {
        "assessment": {
            "type": "object",
            "properties": {
                "dataQuality": {
                    "type": "array",
                    "items": FINDING,
                    "description": "What was wrong with the data and what was done about it "
                    "(e.g. an empty element dropped)",
                },
            },
        },
        "cards": {"type": "array", "items": CARD},
        "issues": {
            **OPERATION_OUTCOME,
            "description": "Present only when the Bundle had problems that were tolerated: one "
            "`warning` issue per input finding, `expression` naming the element as "
            "`Bundle.entry[i].resource...` (e.g. an empty element, dropped; with "
            "TRD_STRICT_VALIDATION=true such a Bundle is a 422 instead)",
        },
    },
}

# Paths any caller may reach without a JWT (see api.auth.UNAUTHENTICATED_PATHS).
_OPEN_PATHS = frozenset({"/livez", "/readyz", "/metrics", "/openapi.json"})


def install_openapi(app: FastAPI) -> None:
    """Serve the document with the CDS client JWT as the security scheme of every call."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description="CDS Hooks 2.0 service for treatment-resistant depression.",
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {
                "cdsClientJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            }
            # FastAPI's own validation-error schemas describe nothing this service returns.
            for name in ("HTTPValidationError", "ValidationError"):
                components.get("schemas", {}).pop(name, None)
            if not components.get("schemas"):
                components.pop("schemas", None)
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    operation["security"] = [] if path in _OPEN_PATHS else [{"cdsClientJwt": []}]
                    # Invalid parameters are answered 400 (an OperationOutcome), not FastAPI's 422.
                    for parameter in operation.get("parameters", []):
                        if parameter.get("name") == "service_id":
                            # The ids that exist; any other is a 404, not a validation error.
                            parameter["schema"] = {"type": "string", "enum": list(SERVICES)}
                    inferred = operation["responses"].get("422", {})
                    if "HTTPValidationError" in str(inferred.get("content", "")):
                        del operation["responses"]["422"]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
