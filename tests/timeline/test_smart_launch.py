"""The SMART launch of the timeline in headless Chromium: the EHR launches launch.html, the
page authorizes with PKCE at the EHR and opens the timeline with the handle the card's
`appContext` carried. The EHR here is a small fake authorization server."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from test_timeline_page import browser  # noqa: F401  (the shared Chromium fixture)

from conftest import ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "trd-timeline"
CORS = {"Access-Control-Allow-Origin": "*"}


class FakeEhr:
    """An EHR's SMART configuration, authorize and token endpoints."""

    def __init__(self) -> None:
        self.app_context: str | None = None
        self.codes: dict[str, dict[str, str]] = {}
        self.authorize_params: dict[str, str] = {}
        self.token_form: dict[str, str] = {}
        self.url = ""
        self.app = Starlette(routes=[
            Route("/fhir/.well-known/smart-configuration", self.configuration),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST", "OPTIONS"]),
        ])

    async def configuration(self, request: Request) -> Response:
        return JSONResponse({"authorization_endpoint": f"{self.url}/authorize",
                             "token_endpoint": f"{self.url}/token",
                             "code_challenge_methods_supported": ["S256"]}, headers=CORS)

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_params = params
        code = secrets.token_urlsafe(8)
        self.codes[code] = params
        return RedirectResponse(f"{params['redirect_uri']}?"
                                + urlencode({"code": code, "state": params["state"]}))

    async def token(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(headers={**CORS, "Access-Control-Allow-Headers": "content-type"})
        form = dict(parse_qsl((await request.body()).decode()))
        self.token_form = form
        asked = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (asked is None or challenge.decode() != asked["code_challenge"]
                or form.get("redirect_uri") != asked["redirect_uri"]):
            return JSONResponse({"error": "invalid_grant"}, status_code=400, headers=CORS)
        return JSONResponse({"access_token": "opaque", "token_type": "Bearer", "scope": "launch",
                             "patient": "123", "appContext": self.app_context}, headers=CORS)


@pytest.fixture(scope="module")
def ehr_and_service() -> Iterator[tuple[FakeEhr, str]]:
    from trd_cds.app import create_app
    from trd_cds.cards import build_cards
    from trd_cds.rules import TrdRules
    from trd_cds.settings import Settings

    ehr = FakeEhr()
    with ThreadedServer(ehr.app) as ehr_server:
        ehr.url = ehr_server.url
        settings = Settings(env="development", evaluation_timeout_seconds=60, gc_freeze=False,
                            smart_client_id=CLIENT_ID, smart_origins=[ehr_server.url])
        app = create_app(settings, rules=TrdRules.load(), card_builder=build_cards)
        with ThreadedServer(app) as service:
            yield ehr, service.url


def _wait(driver: Any, script: str) -> Any:
    deadline = time.monotonic() + 20
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for: {script}"
        time.sleep(0.05)


def test_a_smart_launch_opens_the_timeline_of_the_cards_app_context(
    ehr_and_service: tuple[FakeEhr, str], browser: Any  # noqa: F811
) -> None:
    ehr, service = ehr_and_service
    hook = json.loads((ROOT / "fhir_examples/cds-hooks/patient-view-prefetch.json").read_text())
    cards = httpx.post(f"{service}/cds-services/trd-patient-view", json=hook, timeout=60).json()
    smart = [link for card in cards["cards"] for link in card.get("links", [])
             if link["type"] == "smart"]
    assert smart, "no smart link on the cards"
    assert smart[0]["url"] == f"{service}/timeline/launch.html"
    ehr.app_context = smart[0]["appContext"]
    browser.get("about:blank")
    browser.get(f"{service}/timeline/launch.html?"
                + urlencode({"iss": f"{ehr.url}/fhir", "launch": "launch-123"}))
    _wait(browser, "return window.trdTimeline && window.trdTimeline.ready")
    assert browser.execute_script("return window.trdTimeline.error") is None
    assert browser.execute_script("return Object.keys(window.trdTimeline.drugCharts).length") >= 1
    # The authorization request was a SMART EHR launch with PKCE, for this page.
    asked = ehr.authorize_params
    assert asked["client_id"] == CLIENT_ID and asked["launch"] == "launch-123"
    assert asked["aud"] == f"{ehr.url}/fhir" and asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == f"{service}/timeline/launch.html"
    assert ehr.token_form["grant_type"] == "authorization_code"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def test_a_launch_from_an_ehr_the_service_does_not_know_is_refused(
    ehr_and_service: tuple[FakeEhr, str], browser: Any  # noqa: F811
) -> None:
    _, service = ehr_and_service
    browser.get("about:blank")
    browser.get(f"{service}/timeline/launch.html?"
                + urlencode({"iss": "https://evil.example/fhir", "launch": "x"}))
    message = _wait(browser, "return window.trdLaunchError")
    assert "not one the service is set up" in message
