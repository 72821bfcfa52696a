"""The flat table: one row per trial of every patient (a patient without trials has one row,
its trial columns empty), the patient's columns repeated on each; as Parquet and as CSV.
Written from ``assessments.ndjson`` in batches, so memory holds one batch."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET = "screen.parquet"
CSV = "screen.csv"
_BATCH_ROWS = 5_000

_LIST = pa.list_(pa.string())
SCHEMA = pa.schema([
    ("patient", pa.string()),
    ("evaluationDate", pa.string()),
    ("rulesetVersion", pa.string()),
    ("trdStatus", pa.string()),
    ("pseudoResistance", pa.bool_()),
    ("failedClasses", _LIST),
    ("thaseRush", pa.int64()),
    ("maudsleyScore", pa.int64()),
    ("maudsleyBand", pa.string()),
    ("suggestions", _LIST),
    ("safety", _LIST),
    ("crisis", pa.bool_()),
    ("dataQualityCount", pa.int64()),
    ("trialCount", pa.int64()),
    ("trialIndex", pa.int64()),
    ("ingredient", pa.string()),
    ("class", pa.string()),
    ("start", pa.string()),
    ("end", pa.string()),
    ("maxDailyDoseMg", pa.float64()),
    ("daysAtAdequateDose", pa.int64()),
    ("adequate", pa.bool_()),
    ("flags", _LIST),
    ("outcome", pa.string()),
    ("outcomeInferred", pa.bool_()),
    ("failed", pa.bool_()),
    ("inCurrentEpisode", pa.bool_()),
])
_TRIAL_COLUMNS = ("ingredient", "class", "start", "end", "maxDailyDoseMg", "daysAtAdequateDose",
                  "adequate", "flags", "outcome", "outcomeInferred", "failed", "inCurrentEpisode")


def _int(value: Any) -> int | None:
    # An uncertain duration (a partial date) is a range object: no single number for SQL.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def rows(patient: str, assessment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    staging = assessment.get("staging") or {}
    trials = assessment.get("trials") or []
    base = {
        "patient": patient,
        "evaluationDate": assessment.get("evaluationDate"),
        "rulesetVersion": assessment.get("rulesetVersion"),
        "trdStatus": assessment.get("trdStatus"),
        "pseudoResistance": assessment.get("pseudoResistance"),
        "failedClasses": assessment.get("failedClasses") or [],
        "thaseRush": _int(staging.get("thaseRush")),
        "maudsleyScore": _int(staging.get("maudsleyScore")),
        "maudsleyBand": staging.get("maudsleyBand"),
        "suggestions": assessment.get("suggestions") or [],
        "safety": assessment.get("safety") or [],
        "crisis": assessment.get("crisis"),
        "dataQualityCount": len(assessment.get("dataQuality") or []),
        "trialCount": len(trials),
    }
    if not trials:
        yield {**base, "trialIndex": None, **dict.fromkeys(_TRIAL_COLUMNS)}
        return
    for index, trial in enumerate(trials):
        yield {
            **base,
            "trialIndex": index,
            **{k: trial.get(k) for k in _TRIAL_COLUMNS},
            "maxDailyDoseMg": _float(trial.get("maxDailyDoseMg")),
            "daysAtAdequateDose": _int(trial.get("daysAtAdequateDose")),
            "flags": trial.get("flags") or [],
        }


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)  # one cell; no code of the rules holds a ';'
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def write_table(lines: Iterable[dict[str, Any]], out: Path) -> int:
    """``lines``: the records of assessments.ndjson. Returns the number of rows written."""
    count = 0
    names = SCHEMA.names
    with pq.ParquetWriter(out / PARQUET, SCHEMA) as parquet, \
            open(out / CSV, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            if batch:
                parquet.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
                writer.writerows([_csv_value(row[n]) for n in names] for row in batch)
                batch.clear()

        for line in lines:
            for row in rows(str(line["patient"]), line["assessment"]):
                batch.append(row)
                count += 1
                if len(batch) >= _BATCH_ROWS:
                    flush()
        flush()
    return count
