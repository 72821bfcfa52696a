"""Shared fixtures: a real Redis, a hung TCP listener, FHIR data builders, fake rules and cards,
and an in-process client for the app (httpx ASGI transport, lifespan run)."""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
import pytest
from fastapi import FastAPI

# The test settings, explicitly: a development service (no CDS client authentication; the
# auth tests turn it on with their own issuer and keys), whose FHIR fallback may call the
# plain-http loopback servers the tests run. Set before anything reads the environment, so
# that `Settings()` here and in `trd-cds serve` subprocesses agree. Production defaults are
# tested by passing explicit values (constructor values beat the environment).
os.environ["TRD_ENV"] = "development"
os.environ["TRD_GC_FREEZE"] = "false"
os.environ["TRD_FHIR_ALLOW_HTTP"] = "true"
os.environ["TRD_FHIR_ALLOW_PRIVATE_ADDRESSES"] = "true"

from trd_cds.app import create_app
from trd_cds.fhir.patient_data import PatientData
from trd_cds.rules import CrisisRule
from trd_cds.settings import Settings

CRISIS_RULE = CrisisRule.load()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.settimeout(0.5)
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """127.0.0.1:6379 when a Redis answers there, else a throw-away redis-server."""
    if _pings(6379):
        yield "redis://127.0.0.1:6379/0"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is required for the Redis tests (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _pings(port):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


class HungServer:
    """Accepts TCP connections and never answers: a Redis that hangs."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self._listener.close()


@pytest.fixture
def hung_redis() -> Iterator[HungServer]:
    server = HungServer()
    yield server
    server.close()


@pytest.fixture
def closed_port() -> int:
    """A port nobody listens on: a Redis that is down."""
    return free_port()


# ---------------------------------------------------------------------------- FHIR builders
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _condition() -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "clinicalStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", "active"
        ),
        "code": _concept("http://hl7.org/fhir/sid/icd-10-cm", "F33.2"),
        "onsetDateTime": "2023-01-10",
    }


def _dispense() -> dict[str, Any]:
    return {
        "resourceType": "MedicationDispense",
        "id": "md1",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": _concept(RXNORM, "36437"),
        "whenHandedOver": "2024-01-02",
        "daysSupply": {"value": 30, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"},
    }


def _procedure() -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": "pr1",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "code": _concept(SNOMED, "23835007"),
        "performedPeriod": {"start": "2024-02-01"},
    }


def _medication() -> dict[str, Any]:
    return {"resourceType": "Medication", "id": "med1", "code": _concept(RXNORM, "36437")}


def _request(fhir: Any) -> dict[str, Any]:
    request: dict[str, Any] = fhir.draft_order("mr1")
    request.update(status="active", intent="order", authoredOn="2024-01-01")
    request["dispenseRequest"] = {"validityPeriod": {"start": "2024-01-01"}}
    return request



class Fhir:
    """Small builders for the resources the tests post."""

    @staticmethod
    def patient(pid: str = "p1", birth_date: str = "1980-04-02") -> dict[str, Any]:
        return {"resourceType": "Patient", "id": pid, "birthDate": birth_date, "gender": "female"}

    @staticmethod
    def statement(
        n: int, pid: str = "p1", start: str = "2024-01-01", end: str | None = "2024-03-01"
    ) -> dict[str, Any]:
        period = {"start": start, **({"end": end} if end else {})}
        return {
            "resourceType": "MedicationStatement",
            "id": f"ms{n}",
            "status": "active" if end is None else "completed",
            "subject": {"reference": f"Patient/{pid}"},
            "medicationCodeableConcept": {
                "coding": [
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "36437",
                        "display": "sertraline",
                    }
                ]
            },
            "effectivePeriod": period,
            "dosage": [
                {
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": 50 + n,
                                "unit": "mg",
                                "system": "http://unitsofmeasure.org",
                                "code": "mg",
                            }
                        }
                    ],
                }
            ],
        }

    @staticmethod
    def _loinc_score(rid: str, loinc: str, pid: str, day: str, value: int) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "effectiveDateTime": day,
            "valueInteger": value,
        }

    @staticmethod
    def phq9(n: int, pid: str = "p1", day: str = "2024-04-20", total: int = 17) -> dict[str, Any]:
        return Fhir._loinc_score(f"phq{n}", "44261-6", pid, day, total)

    @staticmethod
    def item9(n: int, score: int, day: str, pid: str = "p1") -> dict[str, Any]:
        return Fhir._loinc_score(f"item9-{n}", "44260-8", pid, day, score)

    @staticmethod
    def bundle(
        resources: list[dict[str, Any]], *, bundle_type: str = "collection"
    ) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": bundle_type,
            "entry": [{"resource": resource} for resource in resources],
        }

    @classmethod
    def patient_bundle(cls, size: int = 10, *, pid: str = "p1", salt: int = 0) -> dict[str, Any]:
        """A Patient plus `size - 1` statements and PHQ-9s; `salt` makes bundles unique."""
        resources: list[dict[str, Any]] = [cls.patient(pid)]
        for n in range(size - 1):
            resources.append(
                cls.statement(n + salt * 10_000, pid) if n % 2 else cls.phq9(n + salt * 10_000, pid)
            )
        return cls.bundle(resources)

    @staticmethod
    def draft_order(oid: str = "draft1", pid: str = "p1", code: str = "36437") -> dict[str, Any]:
        return {
            "resourceType": "MedicationRequest",
            "id": oid,
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": f"Patient/{pid}"},
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}]
            },
        }

    @classmethod
    def empty_element_cases(cls) -> list[tuple[dict[str, Any], dict[str, Any], list[str]]]:
        """One resource of each type the rules read, the same with empty elements at several
        depths (some holding only empty elements), and the paths dropped from it."""
        cases: list[tuple[dict[str, Any], dict[str, Any], list[str]]] = []

        def case(clean: dict[str, Any], dirty: Any, paths: list[str]) -> None:
            mangled = copy.deepcopy(clean)
            dirty(mangled)
            cases.append((clean, mangled, paths))

        def patient(r: dict[str, Any]) -> None:
            r["name"] = []
            r["telecom"] = [{"system": "", "value": ""}]  # becomes empty once its strings go
            r["_birthDate"] = {}

        case(cls.patient(), patient, ["Patient._birthDate", "Patient.name", "Patient.telecom"])

        def condition(r: dict[str, Any]) -> None:
            r["code"]["coding"].append({})
            r["clinicalStatus"]["coding"][0]["display"] = ""
            r["category"] = [{"coding": [{}]}, {"text": ""}]
            r["note"] = [{"text": ""}]

        case(
            _condition(),
            condition,
            [
                "Condition.category",
                "Condition.clinicalStatus.coding[0].display",
                "Condition.code.coding[1]",
                "Condition.note",
            ],
        )

        def statement(r: dict[str, Any]) -> None:
            r["dosage"][0]["doseAndRate"][0]["doseQuantity"]["comparator"] = ""
            r["dosage"][0]["doseAndRate"].append({"type": {"coding": []}})
            r["dosage"].insert(0, {"doseAndRate": [], "timing": {"repeat": {}}})
            r["reasonCode"] = []
            r["effectivePeriod"]["end"] = ""

        active = cls.statement(1, end=None)
        case(
            active,
            statement,
            [
                "MedicationStatement.dosage[0]",
                "MedicationStatement.dosage[1].doseAndRate[0].doseQuantity.comparator",
                "MedicationStatement.dosage[1].doseAndRate[1]",
                "MedicationStatement.effectivePeriod.end",
                "MedicationStatement.reasonCode",
            ],
        )

        def request(r: dict[str, Any]) -> None:
            r["dosageInstruction"] = [{"doseAndRate": []}]
            r["dispenseRequest"]["validityPeriod"]["end"] = ""
            r["dispenseRequest"]["quantity"] = {"unit": ""}

        case(
            _request(cls),
            request,
            [
                "MedicationRequest.dispenseRequest.quantity",
                "MedicationRequest.dispenseRequest.validityPeriod.end",
                "MedicationRequest.dosageInstruction",
            ],
        )

        def dispense(r: dict[str, Any]) -> None:
            r["daysSupply"]["comparator"] = ""
            r["dosageInstruction"] = [{"timing": {}, "text": ""}]

        case(
            _dispense(),
            dispense,
            ["MedicationDispense.daysSupply.comparator", "MedicationDispense.dosageInstruction"],
        )

        def observation(r: dict[str, Any]) -> None:
            r["component"] = []
            r["code"]["coding"].append({"system": "", "code": ""})
            r["code"]["text"] = ""
            r["note"] = [{}]

        case(
            cls.phq9(1),
            observation,
            [
                "Observation.code.coding[1]",
                "Observation.code.text",
                "Observation.component",
                "Observation.note",
            ],
        )

        def procedure(r: dict[str, Any]) -> None:
            r["performedPeriod"]["end"] = ""
            r["code"]["coding"][0]["display"] = ""
            r["reasonCode"] = [{"coding": [{"code": ""}]}]

        case(
            _procedure(),
            procedure,
            [
                "Procedure.code.coding[0].display",
                "Procedure.performedPeriod.end",
                "Procedure.reasonCode",
            ],
        )

        def medication(r: dict[str, Any]) -> None:
            r["ingredient"] = []
            r["code"]["text"] = ""

        case(_medication(), medication, ["Medication.code.text", "Medication.ingredient"])
        return cases


@pytest.fixture
def fhir() -> type[Fhir]:
    return Fhir


# ------------------------------------------------------------------------ fake rules and cards
class FakeRules:
    """Test scaffolding for the rules interface: counts calls, can be slow or broken."""

    def __init__(self, *, delay: float = 0.0, fail: bool = False) -> None:
        self.ruleset_version = f"test-{uuid.uuid4().hex[:12]}"
        self.delay = delay
        self.fail = fail
        self.calls = 0
        self.order_calls: list[list[dict[str, Any]]] = []
        self.last_patient: PatientData | None = None

    def assess(self, patient: PatientData, as_of: date) -> dict[str, Any]:
        self.calls += 1
        self.last_patient = patient
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("rules exploded with patient detail that must not leak")
        statements = patient.by_type.get("MedicationStatement", [])
        return {
            "trdStatus": "not-met",
            "statementCount": len(statements),
            "resourceCount": len(patient.resources),
            "crisis": CRISIS_RULE(patient, as_of) is not None,
            "suggestions": ["optimise-dose"] if statements else [],
            "evaluationDate": as_of.isoformat(),
            "rulesetVersion": self.ruleset_version,
        }

    def check_orders(
        self, patient: PatientData, as_of: date, draft_orders: list[dict[str, Any]]
    ) -> Any:
        self.order_calls.append(draft_orders)
        return {
            "findings": [{"ruleId": "checked", "indicator": "warning", "orderId": o.get("id"),
                          "drug": "drafted"} for o in draft_orders],
            "drafts": [],
        }


def fake_cards(
    assessment: dict[str, Any],
    *,
    hook: str,
    draft_orders: list[dict[str, Any]],
    order_check: Any,
    patient_id: str | None = None,
    timeline: Any = None,
) -> list[dict[str, Any]]:
    """A minimal card builder: one card per fact, typed through source.topic.code; the
    timeline links, when given, on every card."""
    from trd_cds.cards.links import timeline_links

    def card(kind: str, indicator: str, summary: str) -> dict[str, Any]:
        return {
            "summary": summary,
            "indicator": indicator,
            "source": {"label": "test", "topic": {"system": "urn:test", "code": kind}},
        }

    cards = [card("crisis", "critical", "crisis")] if assessment.get("crisis") else []
    cards += [card(f"suggestion-{s}", "info", s) for s in assessment.get("suggestions", [])]
    cards += [card("order-finding", "warning", f"MedicationRequest/{f['orderId']}")
              for f in order_check["findings"]]
    links = timeline_links(timeline)
    return [{**c, "links": links} if links else c for c in cards]


@pytest.fixture
def fake_rules() -> FakeRules:
    return FakeRules()


AppFactory = Callable[..., Any]


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


@pytest.fixture
def make_client() -> Callable[..., Any]:
    """`async with make_client(settings=..., rules=..., ...) as client:` with fakes by default."""

    def factory(
        settings: Settings | None = None,
        *,
        rules: Any = None,
        card_builder: Any = fake_cards,
        **kw: Any,
    ) -> Any:
        app = create_app(
            settings or Settings(),
            rules=rules if rules is not None else FakeRules(),
            card_builder=card_builder,
            **kw,
        )
        return running_app(app)

    return factory


# --------------------------------------------------------------------------- fake FHIR server
class FakeFhirServer:
    """A FHIR server the tests control. The first path segment picks a behaviour:
    ok (one page), paged (three pages), loop (next → itself), unauthorized (401),
    broken (500), slow (never in time), foreign (next → another host), garbage (malformed
    JSON), huge (a multi-megabyte page), redirect (302 elsewhere), drip (a body trickling in),
    cookie (sets a session cookie, records the cookies it is sent)."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.resources = resources
        self.requests: list[tuple[str, str | None]] = []
        self.cookies: list[str | None] = []
        self.app = self._build()

    def _of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["resourceType"] == resource_type]

    def _build(self) -> Any:
        import asyncio

        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
        from starlette.routing import Route

        FHIR_JSON = "application/fhir+json"

        async def drip() -> AsyncIterator[bytes]:
            # A body that never finishes in time: one byte at a time.
            yield b'{"resourceType": "Bundle", "entry": [  '
            for _ in range(100):
                await asyncio.sleep(0.05)
                yield b" "
            yield b"]}"

        def bundle(resources: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
            body: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
            }
            if next_url:
                body["link"] = [{"relation": "next", "url": next_url}]
            return body

        async def handle(request: Request) -> Response:
            mode = request.path_params["mode"]
            rest = request.path_params["rest"]
            self.requests.append((f"/{mode}/{rest}", request.headers.get("authorization")))
            resource_type = rest.split("/")[0].split("?")[0]
            if mode == "unauthorized":
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
            if mode == "broken":
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=500)
            if mode == "slow":
                await asyncio.sleep(30)
            if mode == "garbage":
                return Response(b'{"resourceType": "Bundle", "entry": [', media_type=FHIR_JSON)
            if mode == "huge":
                filler = [{"resource": {"resourceType": "Basic", "id": "x" * 60}}] * 50_000
                return JSONResponse({"resourceType": "Bundle", "entry": filler})
            if mode == "redirect":
                return RedirectResponse("http://elsewhere.example/fhir/" + rest, status_code=302)
            if mode == "drip":
                return StreamingResponse(drip(), media_type=FHIR_JSON)
            if mode == "cookie":
                self.cookies.append(request.headers.get("cookie"))
            if resource_type == "Patient":
                found = self._of_type("Patient")
                if not found:
                    return JSONResponse({"resourceType": "OperationOutcome"}, status_code=404)
                return JSONResponse(found[0])
            matches = self._of_type(resource_type)
            base = f"{request.url.scheme}://{request.url.netloc}/{mode}/{resource_type}"
            if mode == "loop":
                return JSONResponse(bundle(matches[:1], f"{base}?page=1"))
            if mode == "foreign":
                return JSONResponse(bundle(matches[:1], "http://elsewhere.example/fhir/x?page=2"))
            if mode == "paged":
                page = int(request.query_params.get("page", "0"))
                chunk = matches[page::3]
                return JSONResponse(bundle(chunk, f"{base}?page={page + 1}" if page < 2 else None))
            response = JSONResponse(bundle(matches))
            if mode == "cookie":
                response.set_cookie("session", f"ehr-session-{len(self.cookies)}")
            return response

        return Starlette(routes=[Route("/{mode}/{rest:path}", handle)])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), timeout=1.0)


@pytest.fixture
def fake_fhir_server() -> Callable[[list[dict[str, Any]]], FakeFhirServer]:
    return FakeFhirServer


class ThreadedServer:
    """An ASGI app served by uvicorn on a loopback port, in a thread."""

    def __init__(self, app: Any, lifespan: Literal["auto", "on", "off"] = "auto") -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False,
            lifespan=lifespan,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# ------------------------------------------------------------------- a trusted CDS client (EHR)
BASE_URL = "https://cds.example.org"


@functools.cache
def _signing_keys() -> dict[str, Any]:
    """One key of each kind the service accepts; made once (RSA generation is slow)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    return {
        "ec384": ec.generate_private_key(ec.SECP384R1()),
        "ec256": ec.generate_private_key(ec.SECP256R1()),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa-next": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


def public_jwk(kid: str, alg: str | None = None) -> dict[str, Any]:
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    key = _signing_keys()[kid]
    converter = RSAAlgorithm if kid.startswith("rsa") else ECAlgorithm
    jwk: dict[str, Any] = dict(converter.to_jwk(key.public_key(), as_dict=True))
    jwk.update(kid=kid, use="sig")
    if alg:
        jwk["alg"] = alg
    return jwk


class CdsClientIssuer:
    """An EHR that signs CDS Hooks JWTs; its JWK Set is a file the service reads."""

    DEFAULT_ALG: ClassVar[dict[str, str]] = {
        "ec384": "ES384",
        "ec256": "ES256",
        "rsa": "RS384",
        "rsa-next": "RS384",
    }

    def __init__(self, directory: Path, iss: str = "https://ehr.example.org/fhir") -> None:
        self.iss = iss
        self.jwks_file = directory / "ehr-jwks.json"
        self.publish("ec384", "ec256", "rsa")

    def publish(self, *kids: str) -> None:
        self.jwks_file.write_text(json.dumps({"keys": [public_jwk(k) for k in kids]}))

    def token(
        self,
        path: str,
        *,
        kid: str = "ec384",
        alg: str | None = None,
        aud: Any = None,
        headers: dict[str, Any] | None = None,
        omit: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        import jwt

        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.iss,
            "aud": aud if aud is not None else BASE_URL + path,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if k not in omit}
        return jwt.encode(
            payload,
            _signing_keys()[kid],
            algorithm=alg or self.DEFAULT_ALG[kid],
            headers={"kid": kid, "typ": "JWT", **(headers or {})},
        )

    def auth(self, path: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path, **kw)}"}

    def settings(self, **overrides: Any) -> Settings:
        """Production settings that trust this issuer (and nothing else)."""
        from trd_cds.settings import TrustedIssuer

        values: dict[str, Any] = {
            "env": "production",
            "public_base_url": BASE_URL,
            "auth_issuers": [TrustedIssuer(iss=self.iss, jwks_file=self.jwks_file)],
        }
        values.update(overrides)
        return Settings(**values)


@pytest.fixture
def cds_issuer(tmp_path: Path) -> CdsClientIssuer:
    return CdsClientIssuer(tmp_path)
