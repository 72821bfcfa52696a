"""The Spark runner: the same grouping as a Spark job. The export is read as text (Spark
decompresses `.gz`), each line keyed by its patient in Python, the shared Medications joined
to the patients that reference them, and the records grouped by patient with Spark's own
shuffle (``groupBy().applyInPandas``). Each executor's Python worker loads the rules once and
keeps them for every group it is given. The driver streams the results back
(``toLocalIterator``, a partition at a time) into the same output files as the local runner.

Runs wherever a SparkSession can be had: ``local[N]``, or an existing cluster through
``spark-submit`` or a Databricks job (the session it provides is used)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from .bulk_input import (
    BUNDLE_SUFFIXES,
    NDJSON_SUFFIXES,
    InputProblem,
    InputRecord,
    bundle_items,
    input_files,
    ndjson_item,
)
from .evaluation import process_evaluator
from .outputs import OutputFiles
from .patient_bundle import patient_bundle
from .progress import Progress

KEYED_SCHEMA = ("patient string, medication string, kind string, full_url string, body binary, "
                "refs array<string>, problem string, source string, where_ string")
RESULT_SCHEMA = "patient string, kind string, line binary"


def _keyed(item: InputRecord | InputProblem) -> dict[str, Any]:
    if isinstance(item, InputProblem):
        return {"patient": None, "medication": None, "kind": item.kind, "full_url": None,
                "body": None, "refs": [], "problem": item.issue, "source": item.source,
                "where_": item.where}
    return {"patient": item.patient, "medication": item.medication, "kind": item.kind,
            "full_url": item.full_url, "body": item.body, "refs": list(item.medication_refs),
            "problem": None, "source": None, "where_": None}


def _key_lines(batches: Iterator[Any]) -> Iterator[Any]:
    import pandas as pd

    for frame in batches:
        rows = [_keyed(ndjson_item(str(value).encode(), str(path).rsplit("/", 1)[-1], None))
                for value, path in zip(frame["value"], frame["path"], strict=True)
                if str(value).strip()]
        yield pd.DataFrame(rows, columns=[c.split()[0] for c in KEYED_SCHEMA.split(", ")])


def _key_bundles(batches: Iterator[Any]) -> Iterator[Any]:
    import pandas as pd

    for frame in batches:
        rows = [_keyed(item) for content, path in zip(frame["content"], frame["path"], strict=True)
                for item in bundle_items(bytes(content), str(path).rsplit("/", 1)[-1])]
        yield pd.DataFrame(rows, columns=[c.split()[0] for c in KEYED_SCHEMA.split(", ")])


def _evaluate_group(as_of: date) -> Any:
    def evaluate(frame: Any) -> Any:
        import pandas as pd

        patient = str(frame["patient"].iloc[0])
        entries = [(str(k), u if isinstance(u, str) else None, bytes(b))
                   for k, u, b in zip(frame["kind"], frame["full_url"], frame["body"], strict=True)]
        result = process_evaluator(as_of).evaluate(patient, patient_bundle(patient, entries))
        return pd.DataFrame({"patient": [patient], "kind": [result.kind], "line": [result.line]})

    return evaluate


def _session(master: str | None) -> Any:
    import os
    import sys

    from pyspark.sql import SparkSession

    # Local workers run this interpreter, the one that has trd_cds; a cluster sets its own.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active  # spark-submit or a Databricks notebook made one
    builder = SparkSession.builder.appName("trd-cds screen")
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            # Spark's default of 200 shuffle partitions suits a cluster; on one machine each is
            # a task with its own hand-over to Python, for a few patients each.
            cores = os.cpu_count() or 1
            builder = builder.config("spark.sql.shuffle.partitions", str(4 * cores))
    return builder.getOrCreate()


def run_spark(source: Path, out: OutputFiles, as_of: date, progress: Progress, *,
              master: str | None = None) -> tuple[int, int]:
    """Evaluates every patient of ``source`` not finished in ``out``; returns (evaluated,
    skipped)."""
    from pyspark.sql import functions as F

    spark = _session(master if master is not None else _default_master())
    files = input_files(source)
    ndjson = [str(p) for p in files if p.name.endswith(NDJSON_SUFFIXES)]
    bundles = [str(p) for p in files if p.name.endswith(BUNDLE_SUFFIXES)]
    parts = []
    if ndjson:
        lines = spark.read.text(ndjson).withColumn("path", F.input_file_name())
        parts.append(lines.mapInPandas(_key_lines, KEYED_SCHEMA))
    if bundles:
        documents = spark.read.format("binaryFile").load(bundles).select("path", "content")
        parts.append(documents.mapInPandas(_key_bundles, KEYED_SCHEMA))
    if not parts:
        return 0, 0
    keyed = parts[0]
    for part in parts[1:]:
        keyed = keyed.unionByName(part)
    keyed = keyed.cache()

    for row in keyed.where(F.col("problem").isNotNull()).toLocalIterator():
        out.problem(InputProblem(row["source"], row["where_"], row["problem"], row["kind"]))

    records = keyed.where(F.col("patient").isNotNull())
    medications = (keyed.where(F.col("patient").isNull() & F.col("medication").isNotNull())
                   .dropDuplicates(["medication"])
                   .select(F.col("medication").alias("ref"), "kind", "full_url", "body"))
    wanted = (records.select("patient", F.explode("refs").alias("ref")).distinct()
              .join(medications, "ref").select("patient", "kind", "full_url", "body"))
    grouped = records.select("patient", "kind", "full_url", "body").unionByName(wanted)

    done = list(dict.fromkeys(out.finished_patients()))
    skipped = 0
    if done:
        finished = spark.createDataFrame([(p,) for p in done], "patient string")
        skipped = grouped.select("patient").distinct().join(finished, "patient").count()
        grouped = grouped.join(finished, "patient", "left_anti")

    results = grouped.groupBy("patient").applyInPandas(_evaluate_group(as_of), RESULT_SCHEMA)
    evaluated = 0
    from .evaluation import Result

    for row in results.toLocalIterator():
        out.write([Result(row["patient"], row["kind"], bytes(row["line"]))])
        evaluated += 1
        progress.advance(1)
    keyed.unpersist()
    return evaluated, skipped


def _default_master() -> str | None:
    """local[*] when not under spark-submit (which sets spark.master for the session)."""
    import os

    return None if os.environ.get("SPARK_ENV_LOADED") or os.environ.get("DATABRICKS_RUNTIME_VERSION") \
        else "local[*]"
