"""Service benchmark: the HTTP service with 2 workers, driven over loopback from this process.

    python bench/bench_service.py [--workers 2] [--concurrency 8] [--requests 400] [--redis URL]

Starts `uvicorn` with the app factory below (real rules and cards, the bench-only orjson echo
route switched on), then posts FHIR Bundles of about 50 and 300 resources to /evaluate:
- cold: every bundle unique (cache misses: parse, validate, hash, rules, cards);
- warm: the same bundle again and again (cache hits: parse, validate, hash, cards);
- floor: the 300-resource bundle to /_bench/echo (HTTP + orjson in and out, nothing else).
Prints p50/p99 latency and requests per second for each, the ratio to the floor, the RSS of
every worker, and, in-process, what the input checks cost per bundle (typed check against full
fhir.resources validation) - the measurement behind the default validation mode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))

AS_OF = "2025-06-01"
# Unique per run: with a shared Redis, a second run must not find the first run's results.
RUN = uuid.uuid4().hex[:8]
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
DRUGS = [
    ("36437", "sertraline", 100),
    ("321988", "escitalopram", 20),
    ("39786", "venlafaxine", 150),
    ("42347", "bupropion", 300),
    ("15996", "mirtazapine", 30),
]


# ------------------------------------------------------------------------------ the server side
def service_app() -> Any:
    """uvicorn factory for the workers: real rules loaded before the socket opens."""
    from trd_cds.app import create_app, load_rules
    from trd_cds.logging_setup import configure_logging
    from trd_cds.settings import Settings

    settings = Settings(bench_echo=True)
    configure_logging(settings.log_level, json=settings.log_json)
    return create_app(settings, rules=load_rules(settings))


# ------------------------------------------------------------------------------------ the data
def make_bundle(size: int, salt: int) -> dict[str, Any]:
    """A plausible depression history of `size` resources; `salt` makes it unique."""
    pid = f"bench-{RUN}-{salt}"
    subject = {"reference": f"Patient/{pid}"}
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": pid,
            "birthDate": f"{1950 + salt % 50}-03-14",
            "gender": "female",
        },
        {
            "resourceType": "Condition",
            "id": f"{pid}-mdd",
            "subject": subject,
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.1"}]},
            "onsetDateTime": "2022-01-10",
        },
    ]
    start = date(2022, 2, 1)
    n = 0
    while len(resources) < size:
        code, name, dose = DRUGS[n % len(DRUGS)]
        begin = start + timedelta(days=30 * (n // 3))
        kind = n % 3
        if kind == 0:
            resources.append(
                {
                    "resourceType": "MedicationStatement",
                    "id": f"{pid}-ms{n}",
                    "status": "completed",
                    "subject": subject,
                    "medicationCodeableConcept": {
                        "coding": [{"system": RXNORM, "code": code, "display": name}]
                    },
                    "effectivePeriod": {
                        "start": begin.isoformat(),
                        "end": (begin + timedelta(days=60)).isoformat(),
                    },
                    "dosage": [
                        {
                            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                            "doseAndRate": [
                                {
                                    "doseQuantity": {
                                        "value": dose,
                                        "unit": "mg",
                                        "system": "http://unitsofmeasure.org",
                                        "code": "mg",
                                    }
                                }
                            ],
                        }
                    ],
                }
            )
        elif kind == 1:
            resources.append(
                {
                    "resourceType": "Observation",
                    "id": f"{pid}-phq{n}",
                    "status": "final",
                    "subject": subject,
                    "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
                    "effectiveDateTime": (begin + timedelta(days=55)).isoformat(),
                    "valueInteger": 8 + (n + salt) % 15,
                }
            )
        else:
            resources.append(
                {
                    "resourceType": "MedicationDispense",
                    "id": f"{pid}-md{n}",
                    "status": "completed",
                    "subject": subject,
                    "medicationCodeableConcept": {
                        "coding": [{"system": RXNORM, "code": code, "display": name}]
                    },
                    "whenHandedOver": begin.isoformat(),
                    "daysSupply": {
                        "value": 30,
                        "unit": "day",
                        "system": "http://unitsofmeasure.org",
                        "code": "d",
                    },
                }
            )
        n += 1
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


# ---------------------------------------------------------------------------------- the client
class Connection:
    """A minimal HTTP/1.1 keep-alive client: the client must cost less than the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/fhir+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def drive(
    port: int, path: str, bodies: Sequence[bytes], concurrency: int
) -> tuple[list[float], float, dict[int, int]]:
    """Post every body once over `concurrency` connections: latencies (s), wall time (s) and
    the count of each status (a 503 is the service shedding load, not a benchmark error)."""
    connections = [await Connection.open(port) for _ in range(concurrency)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(bodies))

    async def worker(connection: Connection) -> None:
        while queue:
            body = queue.pop()
            started = time.perf_counter()
            status, answer = await connection.request("POST", path, body)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if status not in (200, 503):
                raise RuntimeError(f"{path}: HTTP {status}: {answer[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    wall = time.perf_counter() - started
    for connection in connections:
        await connection.close()
    return latencies, wall, statuses


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    label: str,
    latencies: list[float],
    wall: float,
    statuses: dict[int, int],
    floor_p50: float | None,
) -> float:
    p50 = percentile(latencies, 0.50)
    ratio = f"   {p50 / floor_p50:6.1f}x floor" if floor_p50 else ""
    shed = statuses.get(503, 0)
    ratio += f"   ({shed} shed with 503)" if shed else ""
    print(
        f"{label:<34} p50 {p50 * 1000:7.2f} ms   p99 {percentile(latencies, 0.99) * 1000:7.2f} ms"
        f"   {len(latencies) / wall:8.1f} req/s{ratio}"
    )
    return p50


# ------------------------------------------------------------------------------ process helpers
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


async def settle(pids: Sequence[int], timeout: float = 60.0) -> None:
    """Wait until the workers are idle: a timed-out cold request keeps computing (to fill the
    cache), and that leftover work must not be charged to the next measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pids)
        await asyncio.sleep(0.5)
        if cpu_seconds(pids) - before < 0.05:
            return


def workers_of(pid: int) -> list[int]:
    return [
        child
        for child in children(pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def wait_ready(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = await Connection.open(port)
            ready = 0
            for _ in range(8):  # both workers must answer ready
                status, _ = await connection.request("GET", "/readyz")
                ready += status == 200
            await connection.close()
            if ready == 8:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("service did not become ready")


# ---------------------------------------------------------------------------- input check costs
def input_check_costs() -> None:
    from trd_cds.cache.keys import patient_digest
    from trd_cds.fhir.bundle import InputLimits, parse_bundle

    body = orjson.dumps(make_bundle(300, 999))
    rounds = 20
    for label, limits in (
        ("typed check (default)", InputLimits()),
        ("strict (fhir.resources)", InputLimits(strict=True)),
    ):
        parse_bundle(body, limits)
        started = time.perf_counter()
        for _ in range(rounds):
            patient = parse_bundle(body, limits)
        print(
            f"  parse + {label:<25} {(time.perf_counter() - started) / rounds * 1000:6.2f} ms / 300 entries"
        )
    started = time.perf_counter()
    for _ in range(rounds):
        orjson.loads(body)
    print(
        f"  orjson.loads alone                {(time.perf_counter() - started) / rounds * 1000:6.2f} ms"
    )
    started = time.perf_counter()
    for _ in range(rounds):
        patient_digest(patient.resources)
    print(
        f"  canonical sha256 cache key        {(time.perf_counter() - started) / rounds * 1000:6.2f} ms"
    )


# ------------------------------------------------------------------------------------------ main
async def run(args: argparse.Namespace, port: int, supervisor: int) -> None:
    await wait_ready(port)
    workers = workers_of(supervisor)
    bench_body = orjson.dumps(make_bundle(300, 0))
    # Warm-up: imports, first compilation paths, connection set-up in both workers.
    await drive(
        port,
        f"/evaluate?asOf={AS_OF}",
        [orjson.dumps(make_bundle(50, 10_000 + i)) for i in range(8)],
        2,
    )
    await drive(port, "/_bench/echo", [bench_body] * 100, args.concurrency)
    await settle(workers)

    latencies, wall, statuses = await drive(
        port, "/_bench/echo", [bench_body] * args.requests * 2, args.concurrency
    )
    floor = report("floor: orjson echo, 300 resources", latencies, wall, statuses, None)
    await settle(workers)
    for size in (50, 300):
        cold_bodies = [
            orjson.dumps(make_bundle(size, 100_000 * size + i)) for i in range(args.cold_requests)
        ]
        latencies, wall, statuses = await drive(
            port, f"/evaluate?asOf={AS_OF}", cold_bodies, args.concurrency
        )
        report(f"cold /evaluate, {size} resources", latencies, wall, statuses, floor)
        await settle(workers)
        warm = orjson.dumps(make_bundle(size, 7))
        # Fill both workers' caches (a first computation may outlive its request's budget).
        for _ in range(3):
            await drive(port, f"/evaluate?asOf={AS_OF}", [warm] * 4, 2)
            await settle(workers)
        latencies, wall, statuses = await drive(
            port, f"/evaluate?asOf={AS_OF}", [warm] * args.requests * 2, args.concurrency
        )
        report(f"warm /evaluate, {size} resources", latencies, wall, statuses, floor)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--requests", type=int, default=500, help="requests per warm and floor run (x2)"
    )
    parser.add_argument("--cold-requests", type=int, default=60, help="unique bundles per cold run")
    parser.add_argument(
        "--redis", default=None, help="TRD_REDIS_URL for the workers (default: in-process cache)"
    )
    args = parser.parse_args(argv)

    port = free_port()
    env = {**os.environ, "TRD_LOG_LEVEL": "WARNING", "TRD_ENV": "development",
           "PYTHONPATH": str(ROOT / "bench")}
    env.pop("TRD_REDIS_URL", None)
    if args.redis:
        env["TRD_REDIS_URL"] = args.redis
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_service:service_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    print(
        f"trd-cds service benchmark: {args.workers} workers, {args.concurrency} connections, "
        f"cache {'redis' if args.redis else 'in-process'}, asOf {AS_OF}"
    )
    try:
        asyncio.run(run(args, port, server.pid))
        workers = workers_of(server.pid)
        print(
            "RSS: "
            + ", ".join(f"worker {pid} {rss_mb(pid):.0f} MB" for pid in workers)
            + f"; supervisor {rss_mb(server.pid):.0f} MB"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("input checks, in-process (cold path only):")
    input_check_costs()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
