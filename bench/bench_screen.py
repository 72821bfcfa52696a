"""Population-screen benchmark: patients per second of `trd-cds screen` on 1 process, on 2,
and on Spark local[2], over a generated Bulk export; the peak memory of each run; and what
that projects to for 1,000,000 patients on 16 cores.

    python bench/bench_screen.py [--corpus 2000] [--small 400] [--skip-spark]

The export is `fhir_examples/build_bulk.py`'s with ``--corpus`` generated patients (plus the
example stories and 5 % with partial dates). Each run is a fresh Python process (its own
peak RSS, VmHWM: the main process, and the largest process it started, i.e. a pool worker or
the Spark JVM, sampled every half second), timed from start to the last output written (reading,
grouping, evaluating, the table and the report), and in steady state (from the first
result to the last: once every process has loaded its rules, which a run of a million patients
spreads thin; the ratios and the projection use it). A smaller export (``--small``) is run on one
process to show whether memory grows with the number of patients. The load average of the
machine is printed with each run: other work on it slows every run alike only if it is
steady. Numbers only: nothing asserts; the targets are printed as met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))
sys.path.insert(0, str(ROOT / "fhir_examples"))

AS_OF = date(2025, 6, 1)
TARGET_SPEEDUP = 1.8


def _one(args: argparse.Namespace) -> int:
    """Child mode: one screen, then its numbers as JSON on stdout."""
    from trd_cds.screen.command import screen

    watcher = _PeakWatcher(os.getpid())
    watcher.start()
    started = time.perf_counter()
    run = screen(Path(args.source), Path(args.out), AS_OF, engine=args.engine,
                 processes=args.processes, spark_master="local[2]" if args.engine == "spark" else None,
                 show_progress=False)
    seconds = time.perf_counter() - started
    watcher.sample()
    print(json.dumps({"patients": run.evaluated, "seconds": seconds,
                      "steady_rate": run.steady_rate, "main_mb": _hwm_kb("self") / 1024,
                      "largest_child_mb": max(watcher.peaks.values(), default=0) / 1024}))
    return 0


def _hwm_kb(pid: str) -> int:
    """The process's peak RSS since it started its program (VmHWM). Not getrusage: Linux
    carries ru_maxrss over fork and exec, so a child would report its parent's peak."""
    try:
        status = (Path("/proc") / pid / "status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("VmHWM:")), 0)


class _PeakWatcher(threading.Thread):
    """Every half second, the peak RSS of each process descending from ``root`` (pool
    workers, the Spark JVM and its Python workers), kept after they exit."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peaks: dict[int, int] = {}

    def run(self) -> None:
        while True:
            self.sample()
            time.sleep(0.5)

    def sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        for pid in parents:
            ancestor = parents.get(pid)
            while ancestor and ancestor != self.root:
                ancestor = parents.get(ancestor)
            if ancestor == self.root:
                self.peaks[pid] = max(self.peaks.get(pid, 0), _hwm_kb(str(pid)))


def _run(source: Path, engine: str, processes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-screen-out-") as out:
        load_before = os.getloadavg()[0]
        proc = subprocess.run(
            [sys.executable, __file__, "--one", "--source", str(source), "--out", out,
             "--engine", engine, "--processes", str(processes)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"{engine} run failed")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        result["load"] = (load_before, os.getloadavg()[0])
        result["wall_rate"] = result["patients"] / result["seconds"]
        # Spark hands results back a partition at a time, after its stages ran: only its wall
        # time says how fast it was.
        steady = result["steady_rate"] if engine == "local" else None
        result["rate"] = steady or result["wall_rate"]
        return result


def _show(name: str, r: dict[str, Any]) -> None:
    print(f"{name:<25} {r['patients']:6d} patients {r['seconds']:6.1f} s wall ({r['wall_rate']:5.1f}/s)"
          f"  {'steady' if r['rate'] != r['wall_rate'] else 'wall  '} {r['rate']:6.1f} patients/s"
          f"   peak RSS main {r['main_mb']:6.0f} MB, largest child {r['largest_child_mb']:6.0f} MB"
          f"   load avg {r['load'][0]:.2f} -> {r['load'][1]:.2f}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--corpus", type=int, default=2000)
    ap.add_argument("--small", type=int, default=400)
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    ap.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        return _one(args)

    import build_bulk

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="bench-screen-in-") as work:
        big, small = Path(work) / "big", Path(work) / "small"
        build_bulk.write_export(big, corpus=args.corpus, partial=args.corpus // 20)
        build_bulk.write_export(small, corpus=args.small, partial=args.small // 20)
        size = sum(p.stat().st_size for p in big.iterdir()) / 1e6
        print(f"export: {size:.1f} MB of NDJSON (part gzipped)\n")
        one = _run(big, "local", 1)
        _show("local, 1 process", one)
        two = _run(big, "local", 2)
        _show("local, 2 processes", two)
        spark = None
        if not args.skip_spark:
            spark = _run(big, "spark", 2)
            _show("spark local[2]", spark)
        smaller = _run(small, "local", 1)
        _show("local, 1 process (small)", smaller)

    speedup = two["rate"] / one["rate"]
    print(f"\n2 processes / 1 process: {speedup:.2f}x  (target >= {TARGET_SPEEDUP}x: "
          f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})")
    if spark is not None:
        print(f"spark local[2] / 1 process: {spark['rate'] / one['rate']:.2f}x; "
              f"spark local[2] / 2 processes: {spark['rate'] / two['rate']:.2f}x")
    growth = one["main_mb"] / smaller["main_mb"]
    ratio = one["patients"] / smaller["patients"]
    print(f"peak RSS, {one['patients']} vs {smaller['patients']} patients ({ratio:.1f}x as many): "
          f"{one['main_mb']:.0f} vs {smaller['main_mb']:.0f} MB ({growth:.2f}x; flat is 1.0x)")
    # Per-core rate times 16, discounted by the scaling measured from 1 to 2 processes.
    per_core = one["rate"] * min(1.0, speedup / 2)
    hours = 1_000_000 / (per_core * 16) / 3600
    print(f"projected for 1,000,000 patients on 16 cores: {hours:.1f} h "
          f"({one['rate']:.1f} patients/s per core x 16 x scaling efficiency {min(1.0, speedup / 2):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
