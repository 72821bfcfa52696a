"""Fuzzing against the service's own OpenAPI document: no input gets a 5xx, and every answer
has a status, content type and body the document declares for that route."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import CdsClientIssuer, FakeRules, Fhir, ThreadedServer, fake_cards, running_app
from trd_cds.app import create_app
from trd_cds.settings import Settings

# Bounded: the whole file runs in well under a minute. TRD_FUZZ_EXAMPLES raises it for a soak.
EXAMPLES = int(os.environ.get("TRD_FUZZ_EXAMPLES", "150"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live_service() -> Iterator[ThreadedServer]:
    app = create_app(
        Settings(env="development", max_json_depth=16, max_body_bytes=64 * 1024),
        rules=FakeRules(),
        card_builder=fake_cards,
    )
    with ThreadedServer(app) as server:
        yield server


def test_every_operation_is_fuzzed_against_its_declared_answers(
    live_service: ThreadedServer,
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_service.url}/openapi.json")
    cases = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE)
    )
    seen: dict[str, set[int]] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Any) -> None:
        response = case.call(base_url=live_service.url, timeout=10)
        seen.setdefault(case.operation.label, set()).add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()
    assert len(seen) == 9, seen  # every route was reached (the timeline page has two)


def test_the_document_declares_no_5xx_but_503_and_a_bearer_scheme() -> None:
    app = create_app(Settings(env="development"))
    document = app.openapi()
    assert document["components"]["securitySchemes"]["cdsClientJwt"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for operation in operations.values():
            statuses = {int(s) for s in operation["responses"]}
            assert all(s < 500 or s == 503 for s in statuses), (path, statuses)
            if path.startswith(("/cds-services", "/evaluate")):
                assert 401 in statuses and operation["security"] == [{"cdsClientJwt": []}]


# ------------------------------------------------------------------- hostile tokens (hypothesis)
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.text(max_size=20)
)
_header = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["none", "HS256", "ES384", "RS384", "ES256", "RS256", "", "EdDSA"]),
        "kid": st.one_of(st.sampled_from(["ec384", "rsa", "ec256", "nope"]), _json_scalar),
        "typ": st.one_of(st.just("JWT"), _json_scalar),
        "jku": st.one_of(st.just("https://evil.example/jwks"), _json_scalar),
        "crit": st.lists(st.text(max_size=5), max_size=2),
    },
)
_claims = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.one_of(st.just("https://ehr.example.org/fhir"), _json_scalar),
        "aud": st.one_of(st.just("https://cds.example.org/cds-services"), _json_scalar),
        "exp": _json_scalar,
        "iat": _json_scalar,
        "nbf": _json_scalar,
        "jti": _json_scalar,
        "tenant": _json_scalar,
    },
)


@st.composite
def _hostile_token(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.sampled_from(["forged", "tampered", "garbage"]))
    if kind == "garbage":
        return draw(st.binary(max_size=80))
    if kind == "forged":
        header = _b64(orjson.dumps(draw(_header)))
        payload = _b64(orjson.dumps(draw(_claims)))
        signature = _b64(draw(st.binary(max_size=96)))
        return f"{header}.{payload}.{signature}"
    # A real token with one part swapped or cut.
    real = _ISSUER.token("/cds-services").split(".")
    index = draw(st.integers(0, 2))
    real[index] = draw(st.sampled_from(["", "e30", _b64(draw(st.binary(max_size=40)))]))
    return ".".join(real[: draw(st.integers(1, 3))])


_ISSUER: CdsClientIssuer


@pytest.fixture
def issuer(tmp_path: Any) -> CdsClientIssuer:
    global _ISSUER
    _ISSUER = CdsClientIssuer(tmp_path)
    return _ISSUER


def test_hostile_tokens_get_a_bare_401_never_a_5xx(issuer: CdsClientIssuer) -> None:
    import asyncio

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(tokens=st.lists(_hostile_token(), min_size=1, max_size=8))
    def run(tokens: list[str | bytes]) -> None:
        async def scenario() -> list[int]:
            app = create_app(issuer.settings(), rules=FakeRules(), card_builder=fake_cards)
            statuses = []
            async with running_app(app) as client:
                for token in tokens:
                    raw = token if isinstance(token, bytes) else token.encode()
                    try:
                        response = await client.get(
                            "/cds-services", headers={"Authorization": b"Bearer " + raw}
                        )
                    except (httpx.LocalProtocolError, ValueError):
                        continue  # not even a valid header value: never reaches the service
                    statuses.append(response.status_code)
                    assert response.headers["www-authenticate"] == "Bearer"
            return statuses

        assert set(asyncio.run(scenario())) <= {401}

    run()


def test_valid_token_with_mutated_hook_requests_stays_within_declared_statuses(
    issuer: CdsClientIssuer,
) -> None:
    """Authenticated, but hostile: the body is still refused the documented way."""
    import asyncio

    from test_never_500 import _json, _mutate, _paths

    app_document = create_app(issuer.settings()).openapi()
    declared = {
        int(s) for s in app_document["paths"]["/cds-services/{service_id}"]["post"]["responses"]
    }

    @settings(max_examples=EXAMPLES // 3, deadline=None, database=None)
    @given(path=_paths, value=_json)
    def run(path: list[Any], value: Any) -> None:
        async def scenario() -> int:
            app = create_app(issuer.settings(), rules=FakeRules(), card_builder=fake_cards)
            body = {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
                "prefetch": {
                    "patient": Fhir.patient(),
                    "medicationStatements": _mutate(Fhir.patient_bundle(4), path, value),
                },
            }
            target = "/cds-services/trd-patient-view"
            async with running_app(app) as client:
                response = await client.post(target, json=body, headers=issuer.auth(target))
            return response.status_code

        status = asyncio.run(scenario())
        assert status in declared and status < 500, status

    run()
