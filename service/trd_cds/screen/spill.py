"""Grouping by patient with a spill to disk: the records go into an SQLite file beside the
outputs, so memory holds one patient at a time however large the export is.

Medications shared by several patients' records are stored once and joined to each patient
that references them. Patients already finished by an earlier run are skipped."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from .bulk_input import InputRecord
from .patient_bundle import Entry

_BATCH = 2_000

_SCHEMA = """
CREATE TABLE record (patient TEXT NOT NULL, kind TEXT NOT NULL, full_url TEXT, body BLOB NOT NULL);
CREATE TABLE medication (id TEXT PRIMARY KEY, full_url TEXT, body BLOB NOT NULL);
CREATE TABLE medication_ref (patient TEXT NOT NULL, id TEXT NOT NULL);
CREATE TABLE done (patient TEXT PRIMARY KEY);
"""


class PatientSpill:
    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        # A scratch file: rebuilt on every run, so durability buys nothing.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.executescript(_SCHEMA)
        self.duplicate_medications = 0

    def add(self, records: Iterable[InputRecord]) -> None:
        rows: list[tuple[str, str, str | None, bytes]] = []
        refs: list[tuple[str, str]] = []
        for record in records:
            if record.patient is None:
                if record.medication is not None:
                    self._add_medication(record)
                continue
            rows.append((record.patient, record.kind, record.full_url, record.body))
            refs.extend((record.patient, ref) for ref in record.medication_refs)
            if len(rows) >= _BATCH:
                self._flush(rows, refs)
        self._flush(rows, refs)

    def _add_medication(self, record: InputRecord) -> None:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO medication VALUES (?, ?, ?)",
            (record.medication, record.full_url, record.body),
        )
        self.duplicate_medications += cursor.rowcount == 0

    def _flush(self, rows: list[tuple[str, str, str | None, bytes]],
               refs: list[tuple[str, str]]) -> None:
        self._db.executemany("INSERT INTO record VALUES (?, ?, ?, ?)", rows)
        self._db.executemany("INSERT INTO medication_ref VALUES (?, ?)", refs)
        rows.clear()
        refs.clear()

    def mark_done(self, patients: Iterable[str]) -> None:
        self._db.executemany("INSERT OR IGNORE INTO done VALUES (?)", ((p,) for p in patients))

    def seal(self) -> None:
        """Index what was loaded; call once, after the last ``add``."""
        self._db.execute("CREATE INDEX record_patient ON record (patient)")
        self._db.execute("CREATE INDEX medication_ref_patient ON medication_ref (patient)")
        self._db.commit()

    def pending_count(self) -> int:
        (count,) = self._db.execute(
            "SELECT COUNT(DISTINCT patient) FROM record WHERE patient NOT IN (SELECT patient FROM done)"
        ).fetchone()
        return int(count)

    def done_count(self) -> int:
        (count,) = self._db.execute(
            "SELECT COUNT(DISTINCT patient) FROM record WHERE patient IN (SELECT patient FROM done)"
        ).fetchone()
        return int(count)

    def groups(self) -> Iterator[tuple[str, list[Entry]]]:
        """(patient, entries) for every patient not done, one patient in memory at a time."""
        lookup = sqlite3.connect(self.path)
        rows = self._db.execute(
            "SELECT patient, kind, full_url, body FROM record "
            "WHERE patient NOT IN (SELECT patient FROM done) ORDER BY patient"
        )
        current: str | None = None
        entries: list[Entry] = []
        try:
            for patient, kind, full_url, body in rows:
                if patient != current:
                    if current is not None:
                        yield current, entries + _medications(lookup, current)
                    current, entries = patient, []
                entries.append((kind, full_url, bytes(body)))
            if current is not None:
                yield current, entries + _medications(lookup, current)
        finally:
            lookup.close()

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)


def _medications(db: sqlite3.Connection, patient: str) -> list[Entry]:
    rows = db.execute(
        "SELECT DISTINCT 'Medication', m.full_url, m.body FROM medication_ref r "
        "JOIN medication m ON m.id = r.id WHERE r.patient = ?",
        (patient,),
    )
    return [(str(kind), full_url, bytes(body)) for kind, full_url, body in rows]
