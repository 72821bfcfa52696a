"""Service benchmark: the HTTP service with 2 workers, driven over loopback by wrk.

    python bench/bench_service.py [--workers 2] [--connections 8] [--requests 1000] [--redis URL]
    python bench/bench_service.py --input-only    # the in-process input check costs alone

Starts `uvicorn` with the app factory below (real rules and cards, the bench-only orjson echo
route switched on), then has wrk (a C load generator, so that the client costs the server
little CPU on a small machine) post FHIR Bundles of about 50 and 300 resources to /evaluate:
- cold: every bundle unique (cache misses: parse, validate, hash, rules, cards);
- warm: the same bundle again and again (cache hits: parse, hash, cards);
- floor: the 300-resource bundle to /_bench/echo (HTTP + orjson in and out, nothing else);
- cost growth: cold at 1,000 and 3,000 resources too (latency run), printed as a table of
  p50 by size with the fixed and per-resource cost of a line fitted through it.
Each is run twice: for latency with one connection (one request at a time, so the numbers are
the service's own, without queueing), and for throughput with --connections connections
(both workers saturated; latency there is mostly time spent queueing). Prints p50/p99 latency
and requests per second, the ratio to the floor of the same run, the targets, the RSS of every
worker and, in-process, what the input checks cost per bundle. Numbers only: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))

AS_OF = "2025-06-01"
# Unique per run: with a shared Redis, a second run must not find the first run's results.
RUN = uuid.uuid4().hex[:8]
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# Bundle sizes of the cost-growth table (the first two are also run warm and for throughput).
GROWTH_SIZES = (50, 300, 1_000, 3_000)
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


async def prefill(port: int, bodies: Sequence[bytes], connections: int) -> None:
    """Post every body once over `connections` connections opened at once. A worker busy with
    a computation accepts no connection, so concurrent connections reach both workers."""
    queue = list(bodies)
    opened = [await Connection.open(port) for _ in range(connections)]

    async def worker(connection: Connection) -> None:
        while queue:
            status, answer = await connection.request(
                "POST", f"/evaluate?asOf={AS_OF}", queue.pop()
            )
            if status not in (200, 503):
                raise RuntimeError(f"/evaluate: HTTP {status}: {answer[:200]!r}")

    await asyncio.gather(*(worker(c) for c in opened))
    for connection in opened:
        await connection.close()


@dataclass(frozen=True)
class Run:
    p50_ms: float
    p99_ms: float
    responses: int
    seconds: float
    shed: int

    @property
    def per_second(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0


def wrk(port: int, path: str, bodies: Sequence[bytes], count: int, connections: int,
        workdir: Path) -> Run:
    """`count` POSTs of `bodies` in turn to `path` over `connections` connections."""
    bodies_file = workdir / "bodies.jsonl"
    # orjson writes no newline inside a document: one document per line.
    bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
    process = subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", "-d600s", "--timeout", "30s",
         "-s", str(ROOT / "bench" / "wrk_post.lua"), f"http://127.0.0.1:{port}{path}",
         "--", str(bodies_file), str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.strip() == "stopped":
            process.send_signal(signal.SIGINT)  # the report follows at once
            break
    stdout, stderr = process.communicate(timeout=60)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip()}")
    result = orjson.loads(stdout.strip().splitlines()[-1])
    if result["unexpected"] or result["socket_errors"]:
        raise RuntimeError(f"{path}: {result['unexpected']} unexpected statuses, "
                           f"{result['socket_errors']} socket errors")
    return Run(result["p50_ms"], result["p99_ms"], result["responses"], result["seconds"],
               result["shed"])


def report(label: str, run: Run, floor: Run | None) -> None:
    ratio = f"   {run.p50_ms / floor.p50_ms:5.1f}x floor" if floor else ""
    ratio += f"   ({run.shed} shed with 503)" if run.shed else ""
    print(f"  {label:<32} p50 {run.p50_ms:7.2f} ms   p99 {run.p99_ms:7.2f} ms"
          f"   {run.per_second:7.1f} req/s{ratio}")


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
def with_empty_elements(bundle: dict[str, Any], every: int = 10) -> dict[str, Any]:
    """`bundle` with empty elements, as EHRs send them, in one resource of `every`."""
    dirty = orjson.loads(orjson.dumps(bundle))
    for index, entry in enumerate(dirty["entry"]):
        resource = entry["resource"]
        if index % every == 0:
            resource["identifier"] = []
            resource["meta"] = {"tag": [{}]}
            for dosage in resource.get("dosage", []):
                dosage["doseAndRate"][0]["doseQuantity"]["comparator"] = ""
    return dirty


def _ms_per_call(call: Any, rounds: int) -> str:
    """Median (and least) milliseconds of `rounds` calls, after one to warm up; the least is
    the steadier figure on a shared machine."""
    call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return f"{statistics.median(samples):6.2f} ms (least {min(samples):6.2f})"


def input_check_costs(rounds: int = 50) -> None:
    """What reading and checking a 300-entry Bundle costs: on every request (read_bundle:
    parse, shape, one patient, empty elements dropped; the cache key), and on a miss (the
    deferred validation, typed or strict). With and without empty elements."""
    from trd_cds.cache.keys import patient_digest
    from trd_cds.fhir.bundle import InputLimits, parse_bundle, read_bundle

    clean = orjson.dumps(make_bundle(300, 999))
    dirty = orjson.dumps(with_empty_elements(make_bundle(300, 999)))
    for name, body in (("clean", clean), ("1 in 10 with empty elements", dirty)):
        patient, _ = read_bundle(body, InputLimits())
        rows = [
            ("orjson.loads alone", partial(orjson.loads, body)),
            ("read_bundle (every request)", partial(read_bundle, body, InputLimits())),
            ("canonical sha256 cache key",
             partial(patient_digest, patient.resources, patient.findings)),
            ("parse + typed check (default)", partial(parse_bundle, body, InputLimits())),
        ]
        print(f"  300 entries, {name} ({len(patient.findings)} findings):")
        for label, call in rows:
            print(f"    {label:<34} {_ms_per_call(call, rounds)}")
    strict = partial(parse_bundle, clean, InputLimits(strict=True))
    print(f"  parse + strict (fhir.resources), clean {_ms_per_call(strict, max(3, rounds // 4))}")


# ------------------------------------------------------------------------------------------ main
async def measure(args: argparse.Namespace, port: int, workers: Sequence[int], connections: int,
                  section: int, workdir: Path) -> dict[str, Run]:
    """floor, then cold and warm /evaluate at 50 and 300 resources, over `connections`."""
    runs: dict[str, Run] = {}
    floor_body = orjson.dumps(make_bundle(300, 0))
    runs["floor"] = wrk(port, "/_bench/echo", [floor_body], args.requests, connections, workdir)
    report("floor: orjson echo, 300 resources", runs["floor"], None)
    await settle(workers)
    for size in (50, 300):
        # Salts unique to this run, size and section: every cold bundle is a cache miss.
        cold = [orjson.dumps(make_bundle(size, 1_000_000 * section + 100_000 * size + i))
                for i in range(args.cold_requests)]
        runs[f"cold {size}"] = wrk(port, f"/evaluate?asOf={AS_OF}", cold, len(cold), connections,
                                   workdir)
        report(f"cold /evaluate, {size} resources", runs[f"cold {size}"], runs["floor"])
        await settle(workers)
        warm = orjson.dumps(make_bundle(size, 7))
        # Fill both workers' caches (a first computation may outlive its request's budget).
        for _ in range(3):
            await prefill(port, [warm] * 4, 4)
            await settle(workers)
        runs[f"warm {size}"] = wrk(port, f"/evaluate?asOf={AS_OF}", [warm], args.requests,
                                   connections, workdir)
        report(f"warm /evaluate, {size} resources", runs[f"warm {size}"], runs["floor"])
        await settle(workers)
    if connections == 1:
        # How the cold cost grows with the bundle: 1,000 and 3,000 resources, cold only.
        for size in GROWTH_SIZES[2:]:
            cold = [orjson.dumps(make_bundle(size, 1_000_000 * section + 100_000 * size + i))
                    for i in range(args.growth_requests)]
            runs[f"cold {size}"] = wrk(port, f"/evaluate?asOf={AS_OF}", cold, len(cold),
                                       connections, workdir)
            report(f"cold /evaluate, {size} resources", runs[f"cold {size}"], runs["floor"])
            await settle(workers)
    return runs


def cost_growth(runs: dict[str, Run]) -> None:
    """Cold p50 by bundle size, and the least-squares line through it: a fixed cost per
    request plus a cost per resource (what a larger bundle adds)."""
    points = [(size, runs[f"cold {size}"].p50_ms) for size in GROWTH_SIZES
              if f"cold {size}" in runs]
    print("cost growth, cold /evaluate (latency run):")
    print("  resources      p50 ms      p99 ms   µs per resource")
    for size, p50 in points:
        p99 = runs[f"cold {size}"].p99_ms
        print(f"  {size:9,d} {p50:11.2f} {p99:11.2f} {1000 * p50 / size:17.1f}")
    if len(points) >= 2:
        mean_x = statistics.mean(x for x, _ in points)
        mean_y = statistics.mean(y for _, y in points)
        slope = (sum((x - mean_x) * (y - mean_y) for x, y in points)
                 / sum((x - mean_x) ** 2 for x, _ in points))
        print(f"  fit: about {mean_y - slope * mean_x:.1f} ms + {1000 * slope:.1f} µs per resource")


def targets(runs: dict[str, Run], rss: Sequence[float]) -> None:
    """The service's speed targets, judged on the one-connection (latency) run."""
    warm = [runs["warm 50"], runs["warm 300"]]
    checks = [
        ("warm p50 <= 2 ms", max(r.p50_ms for r in warm) <= 2.0,
         " / ".join(f"{r.p50_ms:.2f}" for r in warm) + " ms (50 / 300 resources)"),
        ("warm p99 <= 10 ms", max(r.p99_ms for r in warm) <= 10.0,
         " / ".join(f"{r.p99_ms:.2f}" for r in warm) + " ms"),
        ("cold p50 <= 25 ms at 300 resources", runs["cold 300"].p50_ms <= 25.0,
         f"{runs['cold 300'].p50_ms:.2f} ms"),
        ("cold p50 <= 150 ms at 3,000 resources",
         "cold 3000" in runs and runs["cold 3000"].p50_ms <= 150.0,
         f"{runs['cold 3000'].p50_ms:.2f} ms" if "cold 3000" in runs else "not run"),
        ("warm p50 <= 2x the floor", max(r.p50_ms for r in warm) <= 2 * runs["floor"].p50_ms,
         " / ".join(f"{r.p50_ms / runs['floor'].p50_ms:.2f}x" for r in warm)),
        ("RSS per worker < 250 MB", bool(rss) and max(rss) < 250, f"{max(rss, default=0):.0f} MB"),
    ]
    print("targets (latency run):")
    for label, met, value in checks:
        print(f"  {label:<38} {'met    ' if met else 'NOT MET'}  {value}")


async def run(args: argparse.Namespace, port: int, supervisor: int, workdir: Path) -> None:
    await wait_ready(port)
    workers = workers_of(supervisor)
    # Warm-up: imports, first compilation paths, connection set-up in both workers.
    await prefill(port, [orjson.dumps(make_bundle(50, 10_000 + i)) for i in range(8)], 2)
    wrk(port, "/_bench/echo", [orjson.dumps(make_bundle(300, 0))], 200, 2, workdir)
    await settle(workers)
    print("latency: 1 connection (one request at a time)")
    latency = await measure(args, port, workers, 1, 1, workdir)
    print(f"throughput: {args.connections} connections (latency here is mostly queueing; each"
          " connection stays with the worker that accepted it, so the two may be loaded unevenly)")
    await measure(args, port, workers, args.connections, 2, workdir)
    cost_growth(latency)
    rss = [rss_mb(pid) for pid in workers]
    print("RSS: " + ", ".join(f"worker {pid} {mb:.0f} MB" for pid, mb in zip(workers, rss, strict=True))
          + f"; supervisor {rss_mb(supervisor):.0f} MB")
    targets(latency, rss)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8,
                        help="connections of the throughput run (the latency run uses one)")
    parser.add_argument("--requests", type=int, default=1000,
                        help="requests per warm and floor run")
    parser.add_argument("--cold-requests", type=int, default=60, help="unique bundles per cold run")
    parser.add_argument("--growth-requests", type=int, default=20,
                        help="unique bundles per cold run at 1,000 and 3,000 resources")
    parser.add_argument(
        "--redis", default=None, help="TRD_REDIS_URL for the workers (default: in-process cache)"
    )
    parser.add_argument("--input-only", action="store_true",
                        help="only the in-process input check costs (no server, no wrk)")
    args = parser.parse_args(argv)
    if args.input_only:
        input_check_costs()
        return 0

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
        f"trd-cds service benchmark: {args.workers} workers, "
        f"cache {'redis' if args.redis else 'in-process'}, asOf {AS_OF}"
    )
    try:
        with tempfile.TemporaryDirectory() as workdir:
            asyncio.run(run(args, port, server.pid, Path(workdir)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("input checks, in-process (cold path only):")
    input_check_costs()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
