#!/usr/bin/env python3
"""Generate the published eCQM value sets in ``cql/valuesets/vsac-*.json``.

Source: ``cql/knowledge/vsac/<OID>.tsv``, each a faithful listing of one published VSAC
expansion (as shipped in the public eCQM content packages) with its OID, version, expansion
timestamp and the file it was read from in its header. The rules use these sets beside the
project's own curated ones, so a diagnosis coded only in SNOMED CT (as EHRs and Synthea do) is
recognised without hand-picking codes.

``--import FILE.json`` turns a published ValueSet resource (VSAC download or eCQM package file)
into its TSV, to refresh a set when VSAC publishes a new version; ``--check`` exits 1 when the
committed JSON differs from what the TSVs produce.

Derived set, written down here because it is a decision: "MDD With Psychotic Features (VSAC)"
is the subset of the Major Depression expansion whose published display says "with psychotic
features", "with psychotic symptoms" or "with psychosis" (and not "without"). It is derived from
the published wording, never from a code list typed by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from gen_knowledge import dump  # one JSON layout for every generated file

CQL_DIR = Path(__file__).resolve().parent.parent
SOURCES = CQL_DIR / "knowledge" / "vsac"
OUT = CQL_DIR / "valuesets"
SOURCE_EXTENSION = "http://trd-cds.org/fhir/StructureDefinition/valueset-source"

# OID -> file id of the generated value set (what TRDCommon.cql's valueset URL names).
SETS = {
    "2.16.840.1.113883.3.464.1003.105.12.1007": "vsac-major-depression",
    "2.16.840.1.113883.3.67.1.101.1.128": "vsac-bipolar-disorder",
}
PSYCHOTIC_FROM = "2.16.840.1.113883.3.464.1003.105.12.1007"
PSYCHOTIC_ID = "vsac-major-depression-psychotic-features"
_PSYCHOTIC = re.compile(r"\bwith (psychotic (features|symptoms)|psychosis)\b", re.IGNORECASE)


def read_tsv(path: Path) -> tuple[dict[str, str], dict[str, str], list[dict[str, str]]]:
    header: dict[str, str] = {}
    system_versions: dict[str, str] = {}
    rows: list[dict[str, str]] = []
    columns: list[str] | None = None
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("# "):
            key, *values = line[2:].split("\t")
            if key == "system-version":
                system_versions[values[0]] = values[1]
            else:
                header[key] = values[0]
        elif columns is None:
            columns = line.split("\t")
        elif line:
            rows.append(dict(zip(columns, line.split("\t"), strict=True)))
    total = int(header["expansion-total"])
    if len(rows) != total:
        raise SystemExit(f"{path.name}: {len(rows)} codes, the expansion says {total}")
    return header, system_versions, rows


# The code system versions of the expansion are recorded in the description, not on each code:
# membership must not fail because a record names another SNOMED CT edition or ICD-10-CM year.
def contains(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"system": r["system"], "code": r["code"], "display": r["display"]} for r in rows]


def value_set(vid: str, url: str, header: dict[str, str], title: str, description: str,
              members: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "id": vid,
        "extension": [{"url": SOURCE_EXTENSION, "valueString": header["source"]}],
        "url": url,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{header['oid']}"}],
        "version": header["version"],
        "name": re.sub(r"[^A-Za-z0-9]", "", title),
        "title": title,
        "status": "active",
        "publisher": header["publisher"],
        "description": description,
        "expansion": {
            "identifier": f"urn:oid:{header['oid']}|{header['version']}",
            "timestamp": header["expansion-timestamp"],
            "total": len(members),
            "contains": members,
        },
    }


def generate() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for oid, vid in SETS.items():
        header, versions, rows = read_tsv(SOURCES / f"{oid}.tsv")
        if header["oid"] != oid or not header["url"].endswith(oid):
            raise SystemExit(f"{oid}.tsv names {header['oid']} / {header['url']}")
        members = contains(rows)
        editions = "; ".join(f"{s} {v}" for s, v in versions.items())
        description = (
            f"VSAC {header['title']} (OID {oid}, version {header['version']}), used by "
            f"{header['used-by']}; expansion of {header['expansion-timestamp']} ({editions})."
        )
        files[OUT / f"{vid}.json"] = dump(
            value_set(vid, header["url"], header, header["title"], description, members)
        )
        if oid == PSYCHOTIC_FROM:
            subset = [m for m in members if _PSYCHOTIC.search(m["display"])]
            files[OUT / f"{PSYCHOTIC_ID}.json"] = dump(value_set(
                PSYCHOTIC_ID, f"http://trd-cds.org/fhir/ValueSet/{PSYCHOTIC_ID}", header,
                "MDD With Psychotic Features (VSAC)",
                f"The members of VSAC {header['title']} (OID {oid}, version {header['version']}) "
                "whose published display says with psychotic features/symptoms or with "
                "psychosis.",
                subset,
            ))
    return files


def import_json(path: Path, used_by: str, source: str) -> Path:
    """Write the TSV of a published ValueSet resource."""
    vs = json.loads(path.read_text("utf-8"))
    oid = vs["url"].rsplit("/", 1)[-1]
    items = vs["expansion"]["contains"]
    versions = {i["system"]: i.get("version", "") for i in items}
    lines = [
        f"# url\t{vs['url']}", f"# oid\t{oid}", f"# version\t{vs['version']}",
        f"# title\t{vs['title']}", f"# publisher\t{vs.get('publisher', '')}",
        f"# used-by\t{used_by}", f"# expansion-timestamp\t{vs['expansion']['timestamp']}",
        f"# expansion-total\t{len(items)}", f"# source\t{source}",
        *(f"# system-version\t{s}\t{v}" for s, v in versions.items()),
        "system\tcode\tdisplay",
        *(f"{i['system']}\t{i['code']}\t{i['display']}" for i in items),
    ]
    target = SOURCES / f"{oid}.tsv"
    target.write_text("\n".join(lines) + "\n", "utf-8")
    return target


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail when generated files are stale")
    ap.add_argument("--import", dest="import_file", type=Path, help="published ValueSet JSON")
    ap.add_argument("--used-by", default="", help="with --import: the measures using the set")
    ap.add_argument("--source", default="", help="with --import: where the file was published")
    args = ap.parse_args()
    if args.import_file:
        print(f"wrote {import_json(args.import_file, args.used_by, args.source)}")
        return 0
    files = generate()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
    if args.check:
        for p in stale:
            print(f"stale: {p.relative_to(CQL_DIR.parent)}", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(files[p], "utf-8")
    print(f"{len(files)} files, {len(stale)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
