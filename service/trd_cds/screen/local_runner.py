"""The embedded runner: a pool of processes on this machine, each with its own copy of the
rules (loaded once, when the process starts), fed one small batch of patients at a time."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import date
from pathlib import Path

from .bulk_input import InputProblem, InputRecord, read_items
from .evaluation import PatientEvaluator, Result, process_evaluator
from .outputs import OutputFiles
from .patient_bundle import patient_bundle
from .progress import Progress
from .spill import PatientSpill

BATCH = 8  # patients per task: enough to make the hand-over cheap, few enough to spread well
IN_FLIGHT_PER_WORKER = 4  # tasks queued per worker: keeps them busy, bounds what waits in memory


def _load(as_of: date) -> None:
    process_evaluator(as_of)


def _evaluate_batch(as_of: date, batch: list[tuple[str, bytes]]) -> list[Result]:
    evaluator = process_evaluator(as_of)
    return [evaluator.evaluate(patient, bundle) for patient, bundle in batch]


def spill_input(root: Path, out: OutputFiles, spill: PatientSpill) -> int:
    """Reads the export into the spill; returns the number of input problems (each written)."""
    problems = 0

    def records() -> Iterator[InputRecord]:
        nonlocal problems
        for item in read_items(root):
            if isinstance(item, InputProblem):
                problems += 1
                out.problem(item)
            else:
                yield item

    spill.add(records())
    spill.mark_done(out.finished_patients())
    spill.seal()
    return problems


def _batches(spill: PatientSpill) -> Iterator[list[tuple[str, bytes]]]:
    batch: list[tuple[str, bytes]] = []
    for patient, entries in spill.groups():
        batch.append((patient, patient_bundle(patient, entries)))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def run_local(spill: PatientSpill, out: OutputFiles, as_of: date, processes: int,
              progress: Progress) -> None:
    """Evaluates every pending patient of ``spill`` and writes each result as it comes."""
    if processes <= 1:
        # One process: no pool to hand patients over to; the rules load here, once.
        evaluator = PatientEvaluator(as_of)
        try:
            for batch in _batches(spill):
                out.write(evaluator.evaluate(p, b) for p, b in batch)
                progress.advance(len(batch))
        finally:
            evaluator.close()
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_load,
                             initargs=(as_of,)) as pool:
        pending: set[Future[list[Result]]] = set()
        limit = processes * IN_FLIGHT_PER_WORKER
        for batch in _batches(spill):
            if len(pending) >= limit:
                pending = _collect(pending, out, progress)
            pending.add(pool.submit(_evaluate_batch, as_of, batch))
        while pending:
            pending = _collect(pending, out, progress)


def _collect(pending: set[Future[list[Result]]], out: OutputFiles,
             progress: Progress) -> set[Future[list[Result]]]:
    finished, still = wait(pending, return_when=FIRST_COMPLETED)
    for future in finished:
        results = future.result()
        out.write(results)
        progress.advance(len(results))
    return still
