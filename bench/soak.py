"""Soak: minutes of mixed traffic against a live `trd-cds serve`, watching its memory.

    python bench/soak.py [--minutes 3] [--concurrency 8] [--no-auth] [--redis URL]

Starts `trd-cds serve` (one worker, real rules and cards) on a free loopback port and drives
it from this process with a mix of calls:
- warm: the example bundles again and again (/evaluate and patient-view with prefetch);
- cold: bundles made unique per call (a cache miss: full evaluation);
- bad: hostile input (broken JSON, wrong content type, too deep, CDS Hooks violations,
  an unknown service, and, with authentication on, forged or replayed tokens);
- feedback: CDS Hooks feedback on cards received earlier.
By default the service authenticates CDS clients: this script generates an issuer (an EC
P-384 key), writes its JWK Set to a temporary file and signs a fresh ES384 JWT per call.

Prints, per kind and overall: requests, errors (a 5xx, or an answer other than the one the
kind expects), p50 and p99 latency; and the service's resident memory at start (after
warm-up), at the end, and the growth in between. Memory must level off, not climb with the
number of requests: a growth that keeps rising with --minutes is a leak. What may grow, and
is bounded: the result cache (--cache-entries), the replay store (one id per token until it
expires: rate x lifetime), the remembered card ids for feedback (50 000 at most).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "fhir_examples"
AS_OF = "2025-06-01"
MAX_MINUTES = 30.0
ISSUER = "https://soak-ehr.example/fhir"
BASE_URL = "https://trd-cds.soak.example"
RUN = uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------------- the issuer
class Issuer:
    """A CDS client's signing key; its public half goes to a JWK Set file for the service."""

    def __init__(self, directory: Path) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec
        from jwt.algorithms import ECAlgorithm

        self.key = ec.generate_private_key(ec.SECP384R1())
        jwk = dict(ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True))
        jwk.update(kid="soak-1", use="sig", alg="ES384")
        self.jwks_file = directory / "jwks.json"
        self.jwks_file.write_text(json.dumps({"keys": [jwk]}))

    def token(self, path: str, *, jti: str | None = None) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": BASE_URL + path,
            "iat": now,
            # Short-lived, so the replay store (ids kept until expiry) reaches its steady size
            # within the run.
            "exp": now + 60,
            "jti": jti or uuid.uuid4().hex,
            "sub": "soak-client",
        }
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": "soak-1"})


# -------------------------------------------------------------------------------- the service
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(
    port: int, issuer: Issuer | None, redis_url: str | None, cache_entries: int
) -> subprocess.Popen[bytes]:
    # Only the settings chosen here (and where the CQL lives): none inherited by accident.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TRD_") or k == "TRD_CDS_CQL_DIR"
    }
    env["TRD_LOG_LEVEL"] = "ERROR"
    env["TRD_EVALUATION_TIMEOUT_SECONDS"] = "10"
    env["TRD_MAX_PENDING_EVALUATIONS"] = "64"
    # A cache that fills within the run, so memory can be seen to level off.
    env["TRD_CACHE_MAX_ENTRIES"] = str(cache_entries)
    if issuer is not None:
        env["TRD_ENV"] = "production"
        env["TRD_PUBLIC_BASE_URL"] = BASE_URL
        env["TRD_AUTH_ISSUERS"] = json.dumps([{"iss": ISSUER, "jwks_file": str(issuer.jwks_file)}])
    else:
        env["TRD_ENV"] = "development"
    if redis_url:
        env["TRD_REDIS_URL"] = redis_url
    return subprocess.Popen(
        [sys.executable, "-m", "trd_cds.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
    )


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"trd-cds serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("trd-cds serve did not become ready")


def rss_mib(pid: int) -> float:
    """Resident memory of the process (Linux /proc), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------------------- the data
def _examples() -> list[dict[str, Any]]:
    manifest = json.loads((EXAMPLES / "manifest.json").read_text())
    return [json.loads((EXAMPLES / e["bundle"]).read_text()) for e in manifest["examples"].values()]


PREFETCH_KEYS = {
    "Patient": "patient",
    "Condition": "conditions",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
    "MedicationDispense": "medicationDispenses",
    "Observation": "observations",
    "Procedure": "procedures",
}


def hook_body(bundle: dict[str, Any]) -> dict[str, Any]:
    """A patient-view call carrying the bundle as prefetch (every key, null when empty)."""
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    prefetch: dict[str, Any] = {key: None for key in PREFETCH_KEYS.values()}
    prefetch["patient"] = patient
    for resource in resources:
        key = PREFETCH_KEYS.get(resource["resourceType"])
        if key and key != "patient":
            prefetch[key] = prefetch[key] or {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [],
            }
            prefetch[key]["entry"].append({"resource": resource})
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/soak", "patientId": patient["id"]},
        "prefetch": prefetch,
    }


def unique(bundle: dict[str, Any], n: int) -> dict[str, Any]:
    """The bundle with one more PHQ-9 score, unique to this call: a cache miss."""
    patient_id = bundle["entry"][0]["resource"]["id"]
    extra = {
        "resourceType": "Observation",
        "id": f"soak-{RUN}-{n}",
        "status": "final",
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "effectiveDateTime": f"2025-0{1 + n % 5}-{10 + n % 18:02d}",
        "valueInteger": n % 27,
    }
    return {**bundle, "entry": [*bundle["entry"], {"resource": extra}]}


BAD_INPUTS: list[tuple[str, str, bytes, str]] = [
    ("POST", "/evaluate", b'{"resourceType": "Bundle", "entry": [', "application/json"),
    ("POST", "/evaluate", b"<Bundle/>", "application/xml"),
    ("POST", "/evaluate", b"[" * 200 + b"]" * 200, "application/json"),
    ("POST", "/evaluate", b'{"resourceType": "Patient"}', "application/fhir+json"),
    ("POST", "/cds-services/trd-patient-view", b'{"hook": "patient-view"}', "application/json"),
    ("POST", "/cds-services/no-such-service", b"{}", "application/json"),
    ("POST", "/cds-services/trd-patient-view/feedback", b'{"feedback": []}', "application/json"),
]


# ------------------------------------------------------------------------------- the traffic
@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def record(self, kind: str, status: int, seconds: float, ok: bool) -> None:
        self.latencies[kind].append(seconds)
        self.statuses[kind][status] += 1
        if not ok or status >= 500:
            self.errors[kind] += 1


class Traffic:
    def __init__(self, base: str, issuer: Issuer | None) -> None:
        self.base = base
        self.issuer = issuer
        self.examples = _examples()
        self.bodies = [orjson.dumps(b) for b in self.examples]
        self.tally = Tally()
        self.cards: list[str] = []
        self.counter = 0
        self.rng = random.Random(20250601)

    def headers(
        self, path: str, content_type: str | None = "application/fhir+json"
    ) -> dict[str, str]:
        headers = {"content-type": content_type} if content_type else {}
        if self.issuer is not None:
            headers["authorization"] = f"Bearer {self.issuer.token(path)}"
        return headers

    async def one(self, client: httpx.AsyncClient) -> None:
        roll = self.rng.random()
        self.counter += 1
        n = self.counter
        if roll < 0.40:
            await self.warm(client, n)
        elif roll < 0.70:
            await self.cold(client, n)
        elif roll < 0.85:
            await self.bad(client, n)
        else:
            await self.feedback(client)

    async def _send(
        self,
        client: httpx.AsyncClient,
        kind: str,
        method: str,
        path: str,
        expect: set[int],
        **kw: Any,
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await client.request(method, path, **kw)
        except httpx.HTTPError:
            self.tally.record(kind, 599, time.perf_counter() - started, False)
            return None
        elapsed = time.perf_counter() - started
        self.tally.record(kind, response.status_code, elapsed, response.status_code in expect)
        return response

    async def warm(self, client: httpx.AsyncClient, n: int) -> None:
        index = n % len(self.examples)
        if n % 2:
            path = f"/evaluate?asOf={AS_OF}"
            await self._send(
                client,
                "warm",
                "POST",
                path,
                {200},
                content=self.bodies[index],
                headers=self.headers("/evaluate"),
            )
            return
        path = "/cds-services/trd-patient-view"
        response = await self._send(
            client,
            "warm",
            "POST",
            path,
            {200, 412},
            content=orjson.dumps(hook_body(self.examples[index])),
            headers=self.headers(path, "application/json"),
        )
        if response is not None and response.status_code == 200:
            self.cards.extend(c["uuid"] for c in response.json().get("cards", [])[:2])
            del self.cards[:-500]

    async def cold(self, client: httpx.AsyncClient, n: int) -> None:
        bundle = unique(self.examples[n % len(self.examples)], n)
        await self._send(
            client,
            "cold",
            "POST",
            f"/evaluate?asOf={AS_OF}",
            {200},
            content=orjson.dumps(bundle),
            headers=self.headers("/evaluate"),
        )

    async def bad(self, client: httpx.AsyncClient, n: int) -> None:
        if self.issuer is not None and n % 4 == 0:
            path = "/cds-services"
            if n % 8 == 0:
                forged = {"authorization": "Bearer e30.e30.AAAA"}
                await self._send(client, "bad", "GET", path, {401}, headers=forged)
                return
            # A replay: the token's first use is fine, the second a bare 401.
            replayed = {"authorization": f"Bearer {self.issuer.token(path)}"}
            await self._send(client, "warm", "GET", path, {200}, headers=replayed)
            await self._send(client, "bad", "GET", path, {401}, headers=replayed)
            return
        method, path, content, content_type = BAD_INPUTS[n % len(BAD_INPUTS)]
        await self._send(
            client,
            "bad",
            method,
            path,
            set(range(400, 500)),
            content=content,
            headers=self.headers(path.split("?")[0], content_type),
        )

    async def feedback(self, client: httpx.AsyncClient) -> None:
        path = "/cds-services/trd-patient-view/feedback"
        card = self.rng.choice(self.cards) if self.cards else str(uuid.uuid4())
        body = {
            "feedback": [
                {
                    "card": card,
                    "outcome": "accepted",
                    "outcomeTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            ]
        }
        await self._send(
            client,
            "feedback",
            "POST",
            path,
            {200},
            content=orjson.dumps(body),
            headers=self.headers(path, "application/json"),
        )


async def drive(traffic: Traffic, seconds: float, concurrency: int, on_tick: Any) -> None:
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=traffic.base, timeout=30, limits=limits) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                await traffic.one(client)

        ticker = asyncio.ensure_future(on_tick(deadline))
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        ticker.cancel()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def report(tally: Tally, seconds: float, rss: list[tuple[float, float]]) -> None:
    print(f"\n{'kind':<10} {'requests':>9} {'errors':>7} {'p50 ms':>9} {'p99 ms':>9}  statuses")
    every: list[float] = []
    for kind in ("warm", "cold", "bad", "feedback"):
        latencies = tally.latencies.get(kind, [])
        every += latencies
        statuses = ", ".join(f"{s}:{c}" for s, c in sorted(tally.statuses[kind].items()))
        print(
            f"{kind:<10} {len(latencies):>9} {tally.errors.get(kind, 0):>7} "
            f"{_percentile(latencies, 0.5):>9.1f} {_percentile(latencies, 0.99):>9.1f}  {statuses}"
        )
    errors = sum(tally.errors.values())
    print(
        f"{'all':<10} {len(every):>9} {errors:>7} {_percentile(every, 0.5):>9.1f} "
        f"{_percentile(every, 0.99):>9.1f}  ({len(every) / seconds:.0f} requests/s)"
    )
    start, end = rss[0][1], rss[-1][1]
    half = [m for t, m in rss if t >= rss[-1][0] / 2]
    print(
        f"\nresident memory: start {start:.1f} MiB, end {end:.1f} MiB, "
        f"growth {end - start:+.1f} MiB ({(end - start) / start * 100:+.1f}%)"
    )
    if half:
        print(
            f"second half of the run: {min(half):.1f} to {max(half):.1f} MiB "
            f"(growth there {half[-1] - half[0]:+.1f} MiB)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes", type=float, default=3.0, help=f"duration (at most {MAX_MINUTES:g})"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-auth", action="store_true", help="development mode, no JWTs")
    parser.add_argument("--redis", default=None, help="a Redis URL for the service's cache")
    parser.add_argument(
        "--cache-entries", type=int, default=2000, help="in-process cache size of the service"
    )
    args = parser.parse_args(argv)
    seconds = max(5.0, min(args.minutes, MAX_MINUTES) * 60)

    with tempfile.TemporaryDirectory(prefix="trd-soak-") as directory:
        issuer = None if args.no_auth else Issuer(Path(directory))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        process = start_service(port, issuer, args.redis, args.cache_entries)
        try:
            wait_ready(base, process)
            traffic = Traffic(base, issuer)
            # Warm-up: every example once, so the start figure is the service in use, not idle.
            asyncio.run(drive(traffic, 5.0, args.concurrency, _idle))
            traffic.tally = Tally()
            rss: list[tuple[float, float]] = [(0.0, rss_mib(process.pid))]
            started = time.monotonic()
            print(
                f"soak: {seconds / 60:.1f} min, concurrency {args.concurrency}, "
                f"auth {'off' if issuer is None else 'on (ES384, JWKS file)'}, "
                f"cache {'redis' if args.redis else 'in-process'}; rss at start {rss[0][1]:.1f} MiB"
            )

            async def tick(deadline: float) -> None:
                while True:
                    await asyncio.sleep(min(10.0, max(0.5, deadline - time.monotonic())))
                    now = time.monotonic() - started
                    rss.append((now, rss_mib(process.pid)))
                    done = sum(len(v) for v in traffic.tally.latencies.values())
                    print(
                        f"  {now:6.0f} s  {done:7d} requests  rss {rss[-1][1]:7.1f} MiB", flush=True
                    )

            asyncio.run(drive(traffic, seconds, args.concurrency, tick))
            rss.append((time.monotonic() - started, rss_mib(process.pid)))
            report(traffic.tally, seconds, rss)
            return 1 if sum(traffic.tally.errors.values()) else 0
        finally:
            process.terminate()
            process.wait(timeout=30)


async def _idle(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


if __name__ == "__main__":
    raise SystemExit(main())
