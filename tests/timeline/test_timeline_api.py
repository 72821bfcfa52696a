"""The cards' links to the timeline page and its data endpoint: JWT, handle and CORS rules."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from conftest import BASE_URL, CdsClientIssuer

HOOK = "/cds-services/trd-patient-view"
DATA = "/timeline/assessment"


def _hook_body(fhir: Any) -> dict[str, Any]:
    bundle = fhir.patient_bundle(3)
    statements = [e for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "MedicationStatement"]
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": {
            "patient": next(e["resource"] for e in bundle["entry"]
                            if e["resource"]["resourceType"] == "Patient"),
            **{key: {"resourceType": "Bundle", "type": "searchset", "entry": []}
               for key in ("conditions", "medicationRequests", "medicationDispenses",
                           "observations", "procedures")},
            "medicationStatements": {"resourceType": "Bundle", "type": "searchset",
                                     "entry": statements},
        },
    }


def _handle(link: dict[str, Any]) -> str:
    if link["type"] == "smart":
        return str(json.loads(link["appContext"])["launchHandle"])
    fragment = urlsplit(link["url"]).fragment
    assert fragment.startswith("h=")
    return fragment[2:]


async def test_evaluate_cards_link_to_the_page_and_its_handle_reads_the_assessment(
    make_client: Any, fhir: Any
) -> None:
    from trd_cds.settings import Settings

    async with make_client(Settings(env="development")) as client:
        answer = (await client.post("/evaluate?asOf=2025-06-01", json=fhir.patient_bundle(3),
                                    headers={"Content-Type": "application/fhir+json"})).json()
        links = answer["cards"][0]["links"]
        # /evaluate has no EHR to launch a SMART app: the absolute link only.
        assert [link["type"] for link in links] == ["absolute"]
        url = urlsplit(links[0]["url"])
        assert (url.scheme, url.netloc, url.path, url.query) == ("http", "service", "/timeline/", "")
        response = await client.get(DATA, headers={"X-Launch-Handle": _handle(links[0])})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["assessment"] == answer["assessment"]
    assert set(body) == {"assessment", "cards", "explanation", "expiresAt"}


async def test_production_hook_links_name_the_public_address_and_carry_a_smart_launch(
    make_client: Any, cds_issuer: CdsClientIssuer, fhir: Any
) -> None:
    settings = cds_issuer.settings(smart_client_id="trd-timeline")
    async with make_client(settings) as client:
        response = await client.post(HOOK, json=_hook_body(fhir), headers=cds_issuer.auth(HOOK))
        assert response.status_code == 200
        links = response.json()["cards"][0]["links"]
        assert [link["type"] for link in links] == ["smart", "absolute"]
        assert links[0]["url"] == BASE_URL + "/timeline/launch.html"
        assert links[1]["url"].startswith(BASE_URL + "/timeline/#h=")
        assert _handle(links[0]) == _handle(links[1])
        ok = await client.get(DATA, headers={"X-Launch-Handle": _handle(links[0])})
        assert ok.status_code == 200


async def test_without_a_smart_client_id_there_is_no_smart_link(
    make_client: Any, cds_issuer: CdsClientIssuer, fhir: Any
) -> None:
    async with make_client(cds_issuer.settings()) as client:
        response = await client.post(HOOK, json=_hook_body(fhir), headers=cds_issuer.auth(HOOK))
    assert [link["type"] for link in response.json()["cards"][0]["links"]] == ["absolute"]


async def test_the_data_endpoint_needs_a_valid_handle_or_a_valid_jwt(
    make_client: Any, cds_issuer: CdsClientIssuer, fhir: Any
) -> None:
    async with make_client(cds_issuer.settings()) as client:
        cards = (await client.post(HOOK, json=_hook_body(fhir),
                                   headers=cds_issuer.auth(HOOK))).json()["cards"]
        handle = _handle(cards[0]["links"][0])
        body, signature = handle.split(".")
        refused = [
            await client.get(DATA),
            await client.get(DATA, headers={"X-Launch-Handle": "not-a-handle"}),
            await client.get(DATA, headers={"X-Launch-Handle": body + "." + signature[::-1]}),
            # A JWT, when sent, is checked as on every route: one for another path fails.
            await client.get(DATA, headers={"X-Launch-Handle": handle, **cds_issuer.auth(HOOK)}),
            # A valid JWT does not replace the handle: it names the assessment.
            await client.get(DATA, headers=cds_issuer.auth(DATA)),
        ]
        assert [r.status_code for r in refused] == [401] * 5
        assert all(r.headers["www-authenticate"] == "Bearer" for r in refused)
        assert all(handle not in r.text for r in refused)
        with_jwt = await client.get(DATA, headers={"X-Launch-Handle": handle,
                                                   **cds_issuer.auth(DATA)})
        assert with_jwt.status_code == 200
        # Everything else still needs a JWT.
        assert (await client.get("/cds-services")).status_code == 401
        assert (await client.post("/evaluate", json={},
                                  headers={"X-Launch-Handle": handle})).status_code == 401


async def test_a_handle_whose_assessment_left_the_cache_is_404(
    make_client: Any, fhir: Any
) -> None:
    from trd_cds.cache.memory import MemoryCache
    from trd_cds.settings import Settings

    # One entry: the next patient's assessment evicts the first.
    cache = MemoryCache(max_entries=1, max_bytes=10_000_000, ttl_seconds=3600)
    async with make_client(Settings(env="development"), cache=cache) as client:
        async def evaluate(bundle: dict[str, Any]) -> dict[str, Any]:
            return dict((await client.post(
                "/evaluate?asOf=2025-06-01", json=bundle,
                headers={"Content-Type": "application/fhir+json"})).json())

        answer = await evaluate(fhir.patient_bundle(3))
        handle = _handle(answer["cards"][0]["links"][0])
        assert (await client.get(DATA, headers={"X-Launch-Handle": handle})).status_code == 200
        await evaluate(fhir.patient_bundle(4, pid="p2"))
        response = await client.get(DATA, headers={"X-Launch-Handle": handle})
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_page_files_need_no_jwt_and_carry_a_strict_csp(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    settings = cds_issuer.settings(smart_origins=["https://ehr.example.org"],
                                   cors_origins=["https://ehr.example.org"])
    async with make_client(settings) as client:
        for path in ("/timeline/", "/timeline/timeline.js", "/timeline/launch.html",
                     "/timeline/vendor/chart.umd.min.js", "/timeline/smart-config.json"):
            response = await client.get(path)
            assert response.status_code == 200, path
        page = await client.get("/timeline/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "default-src 'none'" in csp
    assert "connect-src 'self' https://ehr.example.org;" in csp
    assert "frame-ancestors 'self' https://ehr.example.org;" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script" in page.text and "<script>" not in page.text  # no inline script


async def test_cors_preflight_allows_the_handle_header_for_listed_origins_only(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    settings = cds_issuer.settings(cors_origins=["https://ehr.example.org"])
    preflight = {"Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "x-launch-handle"}
    async with make_client(settings) as client:
        allowed = await client.options(DATA, headers={"Origin": "https://ehr.example.org",
                                                      **preflight})
        other = await client.options(DATA, headers={"Origin": "https://evil.example",
                                                    **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://ehr.example.org"
    assert "x-launch-handle" in allowed.headers["access-control-allow-headers"].lower()
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_the_page_prefix_opens_no_other_route(
    make_client: Any, cds_issuer: CdsClientIssuer
) -> None:
    async with make_client(cds_issuer.settings()) as client:
        for path in ("/timeline/../cds-services", "/timeline/%2e%2e/cds-services",
                     "/timeline/../evaluate", "/timeline/..%2fopenapi.json"):
            response = await client.get(path)
            assert response.status_code in {401, 404}, path
            assert "services" not in response.text, path
        assert (await client.get("/timeline")).status_code == 401  # not the page's prefix
