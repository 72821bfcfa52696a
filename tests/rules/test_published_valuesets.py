"""The published eCQM value sets in cql/valuesets/vsac-*.json: generated from their listings,
named by OID and version, and holding the SNOMED CT codes real records carry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trd_cds.engine import Code, ValueSetDirectory

CQL = Path(__file__).resolve().parents[2] / "cql"
SNOMED = "http://snomed.info/sct"
MAJOR_DEPRESSION = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.105.12.1007"
BIPOLAR = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.67.1.101.1.128"
PSYCHOTIC = "http://trd-cds.org/fhir/ValueSet/vsac-major-depression-psychotic-features"


def test_the_generated_files_are_fresh() -> None:
    run = subprocess.run([sys.executable, str(CQL / "tools" / "gen_valuesets.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("name", ["vsac-major-depression", "vsac-bipolar-disorder"])
def test_each_set_names_its_oid_version_and_source(name: str) -> None:
    vs = json.loads((CQL / "valuesets" / f"{name}.json").read_text("utf-8"))
    oid = vs["url"].rsplit("/", 1)[-1]
    assert vs["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{oid}"}]
    assert vs["version"].isdigit()
    assert "ecqm-content" in vs["extension"][0]["valueString"]
    assert vs["expansion"]["total"] == len(vs["expansion"]["contains"])


@pytest.fixture(scope="module")
def terminology() -> ValueSetDirectory:
    return ValueSetDirectory.from_directory(CQL / "valuesets")


@pytest.mark.parametrize(("url", "code", "member"), [
    (MAJOR_DEPRESSION, "15193003", True), (MAJOR_DEPRESSION, "191611001", True),
    (MAJOR_DEPRESSION, "268621008", True), (MAJOR_DEPRESSION, "2618002", True),
    (MAJOR_DEPRESSION, "13746004", False),  # bipolar disorder
    (BIPOLAR, "10981006", True), (BIPOLAR, "10875004", True), (BIPOLAR, "12969000", True),
    (BIPOLAR, "370143000", False),  # major depressive disorder
    (PSYCHOTIC, "15193003", True), (PSYCHOTIC, "36474008", False), (PSYCHOTIC, "75084000", False),
])
def test_membership(terminology: ValueSetDirectory, url: str, code: str, member: bool) -> None:
    # A record naming another SNOMED CT edition is still a member: versions are not compared.
    coding = Code(code, SNOMED, "http://snomed.info/sct/900000000000207008/version/20240101")
    assert terminology.in_valueset(coding, url) is member
