"""Trusting CDS clients (CDS Hooks 2.0): a signed JWT on every call, or a bare 401."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import jwt
import pytest

from conftest import BASE_URL, CdsClientIssuer, Fhir, public_jwk
from trd_cds.app import create_app
from trd_cds.settings import Settings, TrustedIssuer

DISCOVERY = "/cds-services"
SERVICE = "/cds-services/trd-patient-view"


def _hook_body() -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
        "prefetch": {
            "patient": Fhir.patient(),
            "medicationStatements": Fhir.bundle([Fhir.statement(1)], bundle_type="searchset"),
        },
    }


def _refused(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    # Bare: the same answer whatever went wrong.
    assert body["issue"] == [
        {"severity": "error", "code": "login", "diagnostics": "authentication required"}
    ]


async def test_production_requires_a_token_on_every_call_but_health(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    async with make_client(cds_issuer.settings()) as client:
        for method, path in (
            ("GET", DISCOVERY),
            ("POST", SERVICE),
            ("POST", f"{SERVICE}/feedback"),
            ("POST", "/evaluate"),
            ("GET", "/no-such-route"),
        ):
            _refused(await client.request(method, path, json={}))
        assert (await client.get("/livez")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 200


async def test_production_is_the_default_and_refuses_everyone_until_configured(
    make_client: Any,
) -> None:
    async with make_client(Settings(env="production")) as client:
        _refused(await client.get(DISCOVERY))
        ready = await client.get("/readyz")
        metrics = (await client.get("/metrics")).text
    assert ready.status_code == 503
    assert "trd_cds_ready 0.0" in metrics
    assert "TRD_AUTH_ISSUERS and TRD_PUBLIC_BASE_URL" in ready.json()["issue"][0]["diagnostics"]


async def test_development_turns_it_off_with_a_warning(make_client: Any, caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    async with make_client(Settings(env="development")) as client:
        assert (await client.get(DISCOVERY)).status_code == 200
    assert any("authentication is OFF" in r.getMessage() for r in caplog.records)
    caplog.clear()
    async with make_client(Settings(env="development", auth_required=True)) as client:
        _refused(await client.get(DISCOVERY))
    assert not any("authentication is OFF" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("kid", "alg"), [("ec384", "ES384"), ("rsa", "RS384"), ("rsa", "RS256"), ("ec256", "ES256")]
)
async def test_each_allowed_algorithm_is_accepted(
    make_client: Any, cds_issuer: CdsClientIssuer, kid: str, alg: str
) -> None:
    async with make_client(cds_issuer.settings()) as client:
        discovery = await client.get(
            DISCOVERY, headers=cds_issuer.auth(DISCOVERY, kid=kid, alg=alg)
        )
        call = await client.post(
            SERVICE, json=_hook_body(), headers=cds_issuer.auth(SERVICE, kid=kid, alg=alg)
        )
    assert discovery.status_code == 200, discovery.text
    assert call.status_code == 200, call.text
    assert call.json()["cards"]


async def test_audience_is_the_canonical_url_of_the_endpoint_called(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    async with make_client(cds_issuer.settings()) as client:
        # A token for discovery cannot call a service, nor one for another host.
        _refused(await client.post(SERVICE, json=_hook_body(), headers=cds_issuer.auth(DISCOVERY)))
        _refused(
            await client.get(
                DISCOVERY,
                headers=cds_issuer.auth(DISCOVERY, aud="https://evil.example/cds-services"),
            )
        )
        _refused(await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY, aud=BASE_URL)))
        # The array form of aud is allowed by CDS Hooks.
        listed = await client.get(
            DISCOVERY, headers=cds_issuer.auth(DISCOVERY, aud=[BASE_URL + DISCOVERY])
        )
    assert listed.status_code == 200


async def test_base_url_with_a_path_prefix(make_client: Any, cds_issuer: CdsClientIssuer) -> None:
    settings = cds_issuer.settings(public_base_url="https://hospital.example/trd/")
    async with make_client(settings) as client:
        ok = await client.get(
            DISCOVERY,
            headers=cds_issuer.auth(DISCOVERY, aud="https://hospital.example/trd" + DISCOVERY),
        )
        _refused(await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY)))
    assert ok.status_code == 200


def _unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT', 'kid': 'ec384'})}.{part(claims)}."


async def test_none_and_hmac_algorithms_are_refused(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    from cryptography.hazmat.primitives import serialization

    from conftest import _signing_keys

    now = int(time.time())
    claims = {
        "iss": cds_issuer.iss,
        "aud": BASE_URL + DISCOVERY,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    # The classic confusion attack: HMAC keyed with the issuer's *public* key.
    public_pem = (
        _signing_keys()["rsa"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    hmac_tokens = [_hmac(claims, public_pem, alg) for alg in ("HS256", "HS384", "HS512")]
    async with make_client(cds_issuer.settings()) as client:
        for token in (_unsigned(claims), _unsigned(claims, "None"), *hmac_tokens):
            _refused(await client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"}))


def _hmac(claims: dict[str, Any], secret: bytes, alg: str) -> str:
    """An HMAC token built by hand: PyJWT (rightly) refuses to use a PEM key as a secret."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = (
        b64(json.dumps({"alg": alg, "typ": "JWT", "kid": "rsa"}).encode())
        + b"."
        + b64(json.dumps(claims).encode())
    )
    return (signing_input + b"." + b64(hmac.new(secret, signing_input, digest).digest())).decode()


@pytest.mark.parametrize(
    ("kid", "alg"), [("ec384", "RS384"), ("ec384", "ES256"), ("ec256", "ES384"), ("rsa", "ES384")]
)
async def test_algorithm_must_fit_the_key(
    make_client: Any, cds_issuer: CdsClientIssuer, kid: str, alg: str
) -> None:
    # Signed with the named key but claiming another algorithm: never verified as such.
    token = _resigned(cds_issuer.token(DISCOVERY, kid=kid), alg)
    async with make_client(cds_issuer.settings()) as client:
        _refused(await client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"}))


def _resigned(token: str, alg: str) -> str:
    """The same token with its header's alg replaced (signature left as it was)."""
    import base64
    import json

    header_b64, payload, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    header["alg"] = alg
    new_header = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{new_header}.{payload}.{signature}"


async def test_critical_header_extensions_are_refused(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    # PyJWT refuses some of these itself ("malformed"); the service refuses any other.
    async with make_client(cds_issuer.settings()) as client:
        for crit in (["exp"], ["x-ehr-extension"]):
            token = cds_issuer.token(DISCOVERY, headers={"crit": crit, crit[0]: 1})
            _refused(await client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"}))


async def test_a_key_declaring_its_alg_is_only_used_with_it(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    cds_issuer.jwks_file.write_text(json.dumps({"keys": [public_jwk("rsa", "RS384")]}))
    async with make_client(cds_issuer.settings()) as client:
        ok = await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY, kid="rsa", alg="RS384"))
        _refused(
            await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY, kid="rsa", alg="RS256"))
        )
    assert ok.status_code == 200


async def test_time_claims_are_checked_with_a_small_leeway(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    now = int(time.time())
    async with make_client(cds_issuer.settings(auth_leeway_seconds=30)) as client:

        async def status(**claims: Any) -> int:
            headers = cds_issuer.auth(DISCOVERY, **claims)
            return int((await client.get(DISCOVERY, headers=headers)).status_code)

        assert await status(iat=now - 100, exp=now - 10) == 200  # within the leeway
        assert await status(iat=now - 200, exp=now - 60) == 401  # expired
        assert await status(iat=now + 120, exp=now + 300) == 401  # issued in the future
        assert await status(nbf=now + 120) == 401  # not yet valid
        assert await status(nbf=now - 5) == 200
        assert await status(iat=now, exp=now + 3600) == 401  # lives too long
        for missing in ("exp", "iat", "jti", "iss", "aud"):
            assert await status(omit=(missing,)) == 401, missing


async def test_a_token_is_used_once(make_client: Any, cds_issuer: CdsClientIssuer) -> None:
    headers = cds_issuer.auth(DISCOVERY)
    async with make_client(cds_issuer.settings()) as client:
        first = await client.get(DISCOVERY, headers=headers)
        _refused(await client.get(DISCOVERY, headers=headers))
        # Another token with the same jti, freshly signed: still a replay.
        jti = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})["jti"]
        _refused(await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY, jti=jti)))
        metrics = (await client.get("/metrics")).text
    assert first.status_code == 200
    assert 'trd_cds_auth_failures_total{reason="replayed"} 2.0' in metrics


async def test_issuer_must_be_trusted_and_tenant_must_match(
    make_client: Any, cds_issuer: CdsClientIssuer, tmp_path: Any
) -> None:
    settings = cds_issuer.settings(
        auth_issuers=[
            TrustedIssuer(iss=cds_issuer.iss, jwks_file=cds_issuer.jwks_file, tenant="t1")
        ]
    )
    async with make_client(settings) as client:
        ok = await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY, tenant="t1"))
        _refused(await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY, tenant="t2")))
        _refused(await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY)))
        _refused(
            await client.get(
                DISCOVERY,
                headers=cds_issuer.auth(DISCOVERY, iss="https://other.example", tenant="t1"),
            )
        )
    assert ok.status_code == 200


async def test_extra_claims_like_epics_are_accepted(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    now = int(time.time())
    headers = cds_issuer.auth(
        DISCOVERY, sub="epic-client-id", nbf=now, client_id="x", epic={"eci": "abc"}
    )
    async with make_client(cds_issuer.settings()) as client:
        assert (await client.get(DISCOVERY, headers=headers)).status_code == 200


async def test_rotated_keys_are_picked_up_by_kid_once(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    import asyncio

    settings = cds_issuer.settings(auth_jwks_min_refresh_seconds=0.5)
    async with make_client(settings) as client:
        jwks = client._transport.app.state.auth_gate.verifier.jwks
        assert (await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY))).status_code == 200
        assert jwks.fetches == 1
        cds_issuer.publish("ec384", "rsa-next")  # the EHR rotates to its next key
        await asyncio.sleep(0.6)
        rotated = await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY, kid="rsa-next"))
        assert jwks.fetches == 2
        # A burst of unknown kids within the refresh interval reads the key set no more.
        for _ in range(5):
            token = cds_issuer.token(DISCOVERY, kid="rsa", headers={"kid": "made-up"})
            _refused(await client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"}))
        assert jwks.fetches == 2
        # The key that left the set is no longer accepted once the set is re-read.
        await asyncio.sleep(0.6)
        _refused(await client.get(DISCOVERY, headers=cds_issuer.auth(DISCOVERY, kid="rsa")))
        assert jwks.fetches == 3
        metrics = (await client.get("/metrics")).text
    assert rotated.status_code == 200
    assert 'trd_cds_auth_failures_total{reason="unknown-kid"} 6.0' in metrics


async def test_jku_must_be_on_the_issuers_allowlist(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    async with make_client(cds_issuer.settings()) as client:
        token = cds_issuer.token(DISCOVERY, headers={"jku": "https://evil.example/jwks.json"})
        _refused(await client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"}))
        metrics = (await client.get("/metrics")).text
    assert 'trd_cds_auth_failures_total{reason="jku-not-allowed"} 1.0' in metrics


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer not.a.jwt", "Bearer a.b.c", "Token x"],
)
async def test_missing_or_broken_authorization_is_401(
    make_client: Any, cds_issuer: CdsClientIssuer, header: str
) -> None:
    async with make_client(cds_issuer.settings()) as client:
        _refused(await client.get(DISCOVERY, headers={"Authorization": header} if header else {}))


async def test_the_log_says_why_and_never_holds_the_token(
    make_client: Any, cds_issuer: CdsClientIssuer, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    expired = cds_issuer.token(DISCOVERY, iat=int(time.time()) - 900, exp=int(time.time()) - 600)
    async with make_client(cds_issuer.settings()) as client:
        await client.get(DISCOVERY, headers={"Authorization": f"Bearer {expired}"})
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "cds client refused: expired" in text
    assert expired not in text
    assert expired.split(".")[2] not in text


async def test_cors_preflight_needs_no_token(make_client: Any, cds_issuer: CdsClientIssuer) -> None:
    settings = cds_issuer.settings(cors_origins=["https://ehr.example.org"])
    async with make_client(settings) as client:
        preflight = await client.options(
            SERVICE,
            headers={
                "Origin": "https://ehr.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        other = await client.options(
            SERVICE,
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        refused = await client.get(DISCOVERY, headers={"Origin": "https://ehr.example.org"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://ehr.example.org"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    # A refusal still carries CORS headers, so a browser client can read the 401.
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "https://ehr.example.org"


async def test_replays_are_caught_across_replicas_through_redis(
    cds_issuer: CdsClientIssuer, redis_url: str
) -> None:
    from conftest import FakeRules, fake_cards, running_app

    settings = cds_issuer.settings(redis_url=redis_url)
    headers = cds_issuer.auth(DISCOVERY)
    replica_a = create_app(settings, rules=FakeRules(), card_builder=fake_cards)
    replica_b = create_app(settings, rules=FakeRules(), card_builder=fake_cards)
    async with running_app(replica_a) as a, running_app(replica_b) as b:
        first = await a.get(DISCOVERY, headers=headers)
        _refused(await b.get(DISCOVERY, headers=headers))
    assert first.status_code == 200


def test_issuer_settings_are_checked_at_start_up(tmp_path: Any, monkeypatch: Any) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="needs jwks_url, jwks_file or a jku"):
        TrustedIssuer(iss="https://ehr.example")
    with pytest.raises(ValidationError, match="must be https"):
        TrustedIssuer(iss="https://ehr.example", jwks_url="http://ehr.example/jwks")
    with pytest.raises(ValidationError, match="must be https"):
        TrustedIssuer(iss="https://ehr.example", jku=["http://ehr.example/jwks"])
    with pytest.raises(ValidationError, match="not both"):
        TrustedIssuer(iss="x", jwks_url="https://a/jwks", jwks_file=tmp_path / "k.json")
    with pytest.raises(ValidationError, match="absolute URL"):
        Settings(public_base_url="cds.example.org")
    # From the environment, as a hospital sets it.
    monkeypatch.setenv(
        "TRD_AUTH_ISSUERS",
        '[{"iss": "https://ehr.example", "jwks_url": "https://ehr.example/jwks", "tenant": "t"}]',
    )
    issuers = Settings().auth_issuers
    assert issuers[0].jwks_url == "https://ehr.example/jwks" and issuers[0].tenant == "t"
