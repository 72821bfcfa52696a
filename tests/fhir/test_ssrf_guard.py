"""The prefetch fallback cannot be turned into a request-forgery tool: https, an allowlist,
public addresses only (checked at connect time), no redirects, no cookies, bounded answers."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from conftest import FakeFhirServer, FakeRules, Fhir, ThreadedServer, fake_cards, running_app
from trd_cds.app import _fhir_http_client, create_app
from trd_cds.fhir.client import FhirClient, FhirFetchError
from trd_cds.fhir.client_policy import FhirServerPolicy, FhirServerRefused, is_public_address
from trd_cds.fhir.client_transport import GuardedBackend, guarded_transport
from trd_cds.settings import Settings

# ------------------------------------------------------------------------------ URL policy
ALLOWED = ("https://fhir.hospital.example/R4", "https://ehr.example.org:8443/")


@pytest.mark.parametrize(
    "url",
    [
        "https://fhir.hospital.example/R4",
        "https://FHIR.hospital.example/R4/",
        "https://fhir.hospital.example:443/R4/tenant/1",
        "https://ehr.example.org:8443/anything",
    ],
)
def test_listed_servers_pass(url: str) -> None:
    FhirServerPolicy(allowed_prefixes=ALLOWED).check(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://fhir.hospital.example/R4",  # plain http
        "https://fhir.hospital.example/R4x",  # not under the prefix
        "https://fhir.hospital.example/",  # above it
        "https://fhir.hospital.example.evil.example/R4",
        "https://fhir.hospital.example@evil.example/R4",  # user info
        "https://user:pw@fhir.hospital.example/R4",
        "https://fhir.hospital.example:8443/R4",  # another port
        "https://ehr.example.org/anything",  # default port is not 8443
        "https://fhir.hospital.example/R4?x=1",
        "https://fhir.hospital.example/R4#f",
        "https://fhir.hospital.example:99999/R4",
        "ftp://fhir.hospital.example/R4",
        "https:///R4",
    ],
)
def test_everything_else_is_refused(url: str) -> None:
    with pytest.raises(FhirServerRefused):
        FhirServerPolicy(allowed_prefixes=ALLOWED).check(url)


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        # Under a listed prefix, but not URLs an HTTP client can send.
        ("https://fhir.hospital.example/R4", "https://fhir.hospital.example/R4/a\x01b"),
        ("https://fhir.hospital.example/R4", "https://fhir.hospital.example/R4/a\x7fb"),
        ("https://fhir.hospital.example/R4", "https://fhir.hospital.example/R4/a\tb"),
        ("https://fhir.hospital.example/R4", "https://fhir.hospital.example/R4/a b"),
        ("https://fhir.hospital.example/R4", "https://fhir.hospital.example/R4/" + "a" * 70_000),
        ("https://0177.0.0.1/R4", "https://0177.0.0.1/R4"),  # an octal IPv4 address
        # Dot segments and encoded separators: the request would leave the prefix.
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/../escaped"),
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/a/../../escaped"),
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/%2e%2e/escaped"),
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/%2E./escaped"),
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/.%2e"),
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/./x"),
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/x%2f..%2f..%2fescaped"),
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/x%5C..%5Cescaped"),
        ("https://fhir.hospital.example/m", "https://fhir.hospital.example/m/x\\..\\escaped"),
    ],
)
def test_urls_that_match_a_prefix_only_as_text_are_refused(allowed: str, url: str) -> None:
    for policy in (
        FhirServerPolicy(allowed_prefixes=(allowed,)),
        FhirServerPolicy(open_when_unlisted=True),
    ):
        with pytest.raises(FhirServerRefused) as refused:
            policy.check(url)
        # The message names the problem and never echoes the URL.
        assert "fhirServer" in str(refused.value) and "\x01" not in str(refused.value)


def test_dots_inside_segments_are_not_dot_segments() -> None:
    policy = FhirServerPolicy(allowed_prefixes=("https://fhir.hospital.example/m",))
    policy.check("https://fhir.hospital.example/m/v1.0/..data/a..b")


def test_without_an_allowlist_production_has_no_fallback_and_development_any_https() -> None:
    production = FhirServerPolicy()
    assert not production.fallback_enabled
    with pytest.raises(FhirServerRefused):
        production.check("https://fhir.hospital.example/R4")
    development = FhirServerPolicy(open_when_unlisted=True)
    development.check("https://anything.example/fhir")
    with pytest.raises(FhirServerRefused):
        development.check("http://anything.example/fhir")
    FhirServerPolicy(open_when_unlisted=True, allow_http=True).check("http://anything.example/")


def test_settings_choose_the_policy() -> None:
    assert Settings(env="production", allowed_fhir_servers=[]).fhir_fallback_open is False
    assert Settings(env="development", allowed_fhir_servers=[]).fhir_fallback_open is True
    assert (
        Settings(env="development", allowed_fhir_servers=["https://a/"]).fhir_fallback_open is False
    )
    assert Settings(env="production", fhir_allow_http=False).fhir_allow_http is False


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("not-an-address", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


# ----------------------------------------------------------------- connect-time address check
@pytest.fixture
def loopback_fhir() -> Any:
    server = FakeFhirServer([Fhir.patient(), Fhir.statement(1), Fhir.phq9(1)])
    with ThreadedServer(server.app) as live:
        yield server, live


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_loopback_is_refused_before_any_byte_is_sent(loopback_fhir: Any, host: str) -> None:
    server, live = loopback_fhir
    async with httpx.AsyncClient(transport=guarded_transport()) as http:
        client = FhirClient(http)
        with pytest.raises(FhirFetchError, match="blocked-address"):
            await client.fetch(f"http://{host}:{live.port}/ok", "Patient/p1", "tkn")
    assert server.requests == []


async def test_loopback_is_reached_when_explicitly_allowed(loopback_fhir: Any) -> None:
    server, live = loopback_fhir
    async with httpx.AsyncClient(transport=guarded_transport(allow_private=True)) as http:
        found = await FhirClient(http).fetch(
            f"{live.url}/ok", "MedicationStatement?patient=p1", None
        )
    assert [r["id"] for r in found] == ["ms1"]
    assert len(server.requests) == 1


async def test_every_resolved_address_must_be_public(monkeypatch: Any) -> None:
    """A name resolving to one public and one private address is refused as a whole."""
    import asyncio
    import socket

    async def fake_getaddrinfo(host: str, port: int, **kw: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", fake_getaddrinfo)
    import httpcore

    with pytest.raises(httpcore.ConnectError, match="non-public"):
        await GuardedBackend().connect_tcp("mixed.example", 443, timeout=1)


async def test_the_service_client_blocks_private_addresses_and_keeps_no_cookies(
    loopback_fhir: Any,
) -> None:
    server, live = loopback_fhir
    async with _fhir_http_client(Settings(fhir_allow_private_addresses=False)) as http:
        with pytest.raises(FhirFetchError, match="blocked-address"):
            await FhirClient(http).fetch(f"{live.url}/ok", "Patient/p1", None)
    async with _fhir_http_client(Settings(fhir_allow_private_addresses=True)) as http:
        client = FhirClient(http)
        await client.fetch(f"{live.url}/cookie", "MedicationStatement?patient=p1", None)
        await client.fetch(f"{live.url}/cookie", "MedicationStatement?patient=p1", None)
        assert len(http.cookies.jar) == 0
    # The EHR's session cookie from one call never rides along with the next.
    assert server.cookies == [None, None]


# ------------------------------------------------------------------------ through the service
def _hook(fhir_server: str, prefetch: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": fhir_server,
        "fhirAuthorization": {
            "access_token": "ehr-access-token-xyz",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "trd",
        },
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def _production(**kw: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "production",
        "auth_required": False,
        "fhir_allow_http": False,
        "fhir_allow_private_addresses": False,
    }
    values.update(kw)
    return Settings(**values)


async def test_http_fhir_server_is_refused_in_production(loopback_fhir: Any) -> None:
    server, live = loopback_fhir
    settings = _production(allowed_fhir_servers=[live.url])
    app = create_app(settings, rules=FakeRules(), card_builder=fake_cards)
    async with running_app(app) as client:
        response = await client.post("/cds-services/trd-patient-view", json=_hook(f"{live.url}/ok"))
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "security"
    assert server.requests == []


async def test_listed_https_server_on_a_private_address_is_not_contacted(
    loopback_fhir: Any,
) -> None:
    server, live = loopback_fhir
    base = f"https://localhost:{live.port}"
    app = create_app(
        _production(allowed_fhir_servers=[base]), rules=FakeRules(), card_builder=fake_cards
    )
    async with running_app(app) as client:
        response = await client.post("/cds-services/trd-patient-view", json=_hook(f"{base}/ok"))
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 412
    assert server.requests == []
    assert 'trd_cds_fhir_fetch_total{key="patient",result="blocked-address"} 1.0' in metrics


async def test_production_without_an_allowlist_ignores_fhir_server(loopback_fhir: Any) -> None:
    server, live = loopback_fhir
    prefetch = {
        "patient": Fhir.patient(),
        "medicationStatements": Fhir.bundle([Fhir.statement(1)], bundle_type="searchset"),
    }
    app = create_app(_production(), rules=FakeRules(), card_builder=fake_cards)
    async with running_app(app) as client:
        without_data = await client.post(
            "/cds-services/trd-patient-view", json=_hook(f"{live.url}/ok")
        )
        with_data = await client.post(
            "/cds-services/trd-patient-view", json=_hook(f"{live.url}/ok", prefetch)
        )
    assert without_data.status_code == 412
    assert "does not read from FHIR servers" in without_data.json()["issue"][0]["diagnostics"]
    assert with_data.status_code == 200
    assert server.requests == []


@pytest.mark.parametrize(
    "path",
    ["/m/a\x01b", "/m/a\x7f", "/m/" + "a" * 70_000, "/m/../escaped", "/m/%2e%2e/escaped"],
)
async def test_fhir_servers_that_cannot_or_must_not_be_called_are_400(
    loopback_fhir: Any, path: str
) -> None:
    server, live = loopback_fhir
    settings = _production(
        allowed_fhir_servers=[f"{live.url}/m"],
        fhir_allow_http=True,
        fhir_allow_private_addresses=True,
    )
    app = create_app(settings, rules=FakeRules(), card_builder=fake_cards)
    async with running_app(app) as client:
        response = await client.post(
            "/cds-services/trd-patient-view", json=_hook(f"{live.url}{path}")
        )
        listed = await client.post("/cds-services/trd-patient-view", json=_hook(f"{live.url}/m"))
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] == "security" and issue["expression"] == ["fhirServer"]
    # Nothing reached the server (nor, with it, the access token) for the refused URL.
    assert all(not p.startswith("/escaped") for p, _ in server.requests)
    assert listed.status_code in (200, 412)


class _NextLinkServer:
    """One page whose Bundle.link[next] is `next_url`; records every path asked for."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url
        self.paths: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.raw_path.decode())
        page = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": Fhir.statement(1)}],
            "link": [{"relation": "next", "url": self.next_url}],
        }
        return httpx.Response(200, stream=httpx.ByteStream(json.dumps(page).encode()))


@pytest.mark.parametrize(
    "next_url",
    [
        "https://fhir.test/m/../escaped/MedicationStatement?page=2",
        "https://fhir.test/m/%2e%2e/escaped/MedicationStatement?page=2",
        "https://fhir.test/m/MedicationStatement\x01?page=2",
        "https://0177.0.0.1/m/MedicationStatement?page=2",
    ],
)
async def test_next_links_that_leave_the_base_or_cannot_be_sent_fail_the_fetch(
    next_url: str,
) -> None:
    server = _NextLinkServer(next_url)
    async with httpx.AsyncClient(transport=httpx.MockTransport(server.handler)) as http:
        with pytest.raises(FhirFetchError) as failed:
            await FhirClient(http).fetch("https://fhir.test/m", "MedicationStatement", "tkn")
    assert failed.value.reason in ("foreign-next-link", "invalid-url")
    assert server.paths == ["/m/MedicationStatement"]


# ---------------------------------------------------------------------- hostile FHIR servers
async def _fetch(mode: str, **client_kw: Any) -> tuple[Any, Exception | None]:
    server = FakeFhirServer([Fhir.patient(), *(Fhir.statement(n) for n in range(3))])
    async with server.client() as http:
        try:
            await FhirClient(http, **client_kw).fetch(
                f"http://fhir.test/{mode}", "MedicationStatement?patient=p1", "tkn"
            )
        except FhirFetchError as exc:
            return server, exc
    return server, None


async def test_redirects_are_not_followed() -> None:
    server, error = await _fetch("redirect")
    assert isinstance(error, FhirFetchError) and error.reason == "redirect"
    assert len(server.requests) == 1


async def test_malformed_json_is_a_failed_fetch() -> None:
    _, error = await _fetch("garbage")
    assert isinstance(error, FhirFetchError) and error.reason == "not-json"


async def test_a_response_larger_than_the_bound_is_refused() -> None:
    _, error = await _fetch("huge", max_response_bytes=1024 * 1024)
    assert isinstance(error, FhirFetchError) and error.reason == "too-large"


async def test_a_dripping_response_is_cut_at_the_request_budget() -> None:
    started = time.perf_counter()
    _, error = await _fetch("drip", request_timeout_seconds=0.3)
    assert isinstance(error, FhirFetchError) and error.reason == "timeout"
    assert time.perf_counter() - started < 2.5


# ---------------------------------------------------------------- compressed answers (bombs)
def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, compresslevel=9)


def _bundle_bytes() -> bytes:
    import orjson

    return orjson.dumps(Fhir.bundle([Fhir.statement(1), Fhir.statement(2)], bundle_type="searchset"))


async def _fetch_encoded(
    body: bytes, encoding: str, max_response_bytes: int = 1024 * 1024
) -> tuple[list[dict[str, Any]] | None, str | None, int]:
    """(resources or None, failure reason or None, peak bytes allocated during the fetch)."""
    import tracemalloc

    def handler(request: httpx.Request) -> httpx.Response:
        # A stream, as from the network (httpx decodes `content=` bodies on construction).
        return httpx.Response(
            200,
            stream=httpx.ByteStream(body),
            headers={"content-encoding": encoding} if encoding else {},
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = FhirClient(http, max_response_bytes=max_response_bytes)
        tracemalloc.start()
        try:
            resources = await client.fetch("https://fhir.test/m", "MedicationStatement", "tkn")
            return resources, None, tracemalloc.get_traced_memory()[1]
        except FhirFetchError as exc:
            return None, exc.reason, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


async def test_a_gzip_bomb_is_cut_at_the_bound_of_decoded_bytes() -> None:
    bomb = _gzip(b"\0" * (32 * 1024 * 1024))  # 32 KiB that inflate to 32 MiB
    resources, reason, peak = await _fetch_encoded(bomb, "gzip", max_response_bytes=1024 * 1024)
    assert resources is None and reason == "too-large"
    # Never inflated much past the 1 MiB bound (the whole bomb would be 32 MiB).
    assert peak < 8 * 1024 * 1024


@pytest.mark.parametrize("encoding", ["gzip, gzip", "gzip,deflate", "br", "x-unknown"])
async def test_stacked_or_unknown_encodings_are_refused_undecoded(encoding: str) -> None:
    bomb = _gzip(_gzip(b"\0" * (32 * 1024 * 1024)))
    resources, reason, peak = await _fetch_encoded(bomb, encoding)
    assert resources is None and reason == "unsupported-encoding"
    assert peak < 8 * 1024 * 1024


@pytest.mark.parametrize("encoding", ["", "identity", "gzip", "GZIP", "deflate", "x-gzip"])
async def test_plain_and_singly_compressed_answers_are_read(encoding: str) -> None:
    import zlib

    body = _bundle_bytes()
    encoded = {
        "": body, "identity": body, "deflate": zlib.compress(body),
    }.get(encoding.lower(), _gzip(body))
    resources, reason, _ = await _fetch_encoded(encoded, encoding)
    assert reason is None and resources is not None
    assert [r["id"] for r in resources] == ["ms1", "ms2"]


async def test_a_corrupt_compressed_answer_is_a_failed_fetch() -> None:
    resources, reason, _ = await _fetch_encoded(b"\x1f\x8b\x08\0garbage" * 10, "gzip")
    assert resources is None and reason == "bad-encoding"
