"""Value sets from FHIR ValueSet resources, and the terminology operators through CQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import CqlEvaluationError, Engine, ValueSetDirectory
from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.datatypes.values import Code, Concept
from trd_cds.engine.terminology import TerminologyError

SYS = "http://example.org/sys"
OTHER = "http://example.org/other"

ENUMERATED = {
    "resourceType": "ValueSet", "url": "http://example.org/vs/enumerated", "version": "1",
    "compose": {
        "include": [{"system": SYS, "concept": [{"code": "a"}, {"code": "b"}, {"code": "c"}]}],
        "exclude": [{"system": SYS, "concept": [{"code": "c"}]}],
    },
}
EXPANDED = {
    "resourceType": "ValueSet", "url": "http://example.org/vs/expanded",
    "compose": {"include": [{"system": SYS, "concept": [{"code": "ignored"}]}]},
    "expansion": {"contains": [
        {"system": SYS, "code": "x", "version": "2020"},
        {"system": SYS, "code": "group", "abstract": True,
         "contains": [{"system": OTHER, "code": "y"}]},
    ]},
}
WHOLE_SYSTEM = {
    "resourceType": "ValueSet", "url": "http://example.org/vs/whole",
    "compose": {"include": [{"system": OTHER}]},
}


@pytest.fixture
def terminology() -> ValueSetDirectory:
    return ValueSetDirectory([ENUMERATED, EXPANDED, WHOLE_SYSTEM])


def test_enumerated_compose_with_exclusions(terminology: ValueSetDirectory) -> None:
    url = "http://example.org/vs/enumerated"
    assert terminology.in_valueset(Code("a", SYS), url)
    assert not terminology.in_valueset(Code("c", SYS), url)  # excluded
    assert not terminology.in_valueset(Code("a", OTHER), url)  # system matters
    assert not terminology.in_valueset(Code("a"), url)  # so does its absence
    assert [c.code for c in terminology.expand(url)] == ["a", "b"]


def test_expansion_wins_and_nested_contains_count(terminology: ValueSetDirectory) -> None:
    url = "http://example.org/vs/expanded"
    assert terminology.in_valueset(Code("y", OTHER), url)
    assert not terminology.in_valueset(Code("ignored", SYS), url)
    assert not terminology.in_valueset(Code("group", SYS), url)  # abstract: not selectable
    assert [c.code for c in terminology.expand(url)] == ["x", "y"]


def test_code_system_versions_compare_only_when_both_are_given(
        terminology: ValueSetDirectory) -> None:
    url = "http://example.org/vs/expanded"
    assert terminology.in_valueset(Code("x", SYS), url)
    assert terminology.in_valueset(Code("x", SYS, "2020"), url)
    assert not terminology.in_valueset(Code("x", SYS, "1999"), url)


def test_concepts_lists_and_value_set_versions(terminology: ValueSetDirectory) -> None:
    url = "http://example.org/vs/enumerated"
    assert terminology.in_valueset(Concept((Code("z", SYS), Code("b", SYS))), url)
    assert terminology.in_valueset([Code("z", SYS), Code("a", SYS)], url)
    assert not terminology.in_valueset([], url)
    assert terminology.in_valueset(Code("a", SYS), url, "1")
    with pytest.raises(TerminologyError, match="version 2"):
        terminology.in_valueset(Code("a", SYS), url, "2")


def test_whole_code_system_checks_membership_but_cannot_expand(
        terminology: ValueSetDirectory) -> None:
    url = "http://example.org/vs/whole"
    assert terminology.in_valueset(Code("anything", OTHER), url)
    assert not terminology.in_valueset(Code("anything", SYS), url)
    with pytest.raises(TerminologyError, match="cannot be expanded"):
        terminology.expand(url)


def test_unknown_and_unsupported_value_sets(terminology: ValueSetDirectory) -> None:
    with pytest.raises(TerminologyError, match="unknown value set"):
        terminology.in_valueset(Code("a", SYS), "http://example.org/vs/nope")
    with pytest.raises(TerminologyError, match="filter"):
        ValueSetDirectory([{"resourceType": "ValueSet", "url": "u", "compose": {"include": [
            {"system": SYS, "filter": [{"property": "concept", "op": "is-a", "value": "x"}]}]}}])
    assert isinstance(TerminologyError("x"), CqlEvaluationError)


def test_from_directory_reads_value_sets_and_bundles(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps(ENUMERATED))
    (tmp_path / "bundle.json").write_text(json.dumps(
        {"resourceType": "Bundle", "entry": [{"resource": EXPANDED}]}))
    (tmp_path / "other.json").write_text(json.dumps({"resourceType": "Patient"}))
    directory = ValueSetDirectory.from_directory(tmp_path)
    assert "http://example.org/vs/enumerated" in directory
    assert "http://example.org/vs/expanded" in directory


def test_project_value_sets_load() -> None:
    folder = Path(__file__).resolve().parents[2] / "cql" / "valuesets"
    if not folder.is_dir():
        pytest.skip("no cql/valuesets folder")
    directory = ValueSetDirectory.from_directory(folder)
    for file in folder.glob("*.json"):
        resource = json.loads(file.read_text())
        if resource.get("resourceType") == "ValueSet":
            assert resource["url"] in directory


TERMINOLOGY_CQL = """
library Term version '1'
codesystem "SYS": 'http://example.org/sys'
codesystem "OTHER": 'http://example.org/other'
valueset "Enumerated": 'http://example.org/vs/enumerated'
valueset "Whole": 'http://example.org/vs/whole'
code "A": 'a' from "SYS"
code "Y": 'y' from "OTHER"
concept "AY": { "A", "Y" }
define "Code In": "A" in "Enumerated"
define "Code Not In": "Y" in "Enumerated"
define "Concept In": "AY" in "Whole"
define "Null Code In": (null as Code) in "Enumerated"
define "Any In": { "Y", "A" } in "Enumerated"
define "Expand": ExpandValueSet("Enumerated")
define "Code In System": "A" in "SYS"
define "Code Not In System": "Y" in "SYS"
define "String In Value Set": 'a' in "Enumerated"
define "Value Set Ref": "Enumerated"
define "Code System Ref": "SYS"
define "Code Selector": Code 'b' from "SYS" display 'B'
define "Concept Selector": Concept { Code 'a' from "SYS", Code 'y' from "OTHER" } display 'AY'
define "Selector In": (Code 'b' from "SYS") in "Enumerated"
"""


@needs_translator
def test_terminology_operators_through_cql(terminology: ValueSetDirectory) -> None:
    engine = Engine.from_elm(translate(TERMINOLOGY_CQL))
    r: dict[str, Any] = engine.evaluate("Term", now=DateTime(2025, 1, 1),
                                        terminology=terminology)
    assert r["Code In"] is True
    assert r["Code Not In"] is False
    assert r["Concept In"] is True
    assert r["Null Code In"] is False
    assert r["Any In"] is True
    assert r["Expand"] == [Code("a", SYS), Code("b", SYS)]
    assert r["Code In System"] is True
    assert r["Code Not In System"] is False
    assert r["String In Value Set"] is False  # a bare string has no code system
    assert r["Value Set Ref"].id == "http://example.org/vs/enumerated"
    assert r["Code System Ref"].id == SYS
    assert r["Code Selector"] == Code("b", SYS, None, "B")
    assert r["Concept Selector"] == Concept((Code("a", SYS), Code("y", OTHER)), "AY")
    assert r["Selector In"] is True


@needs_translator
def test_value_sets_need_a_terminology_provider() -> None:
    engine = Engine.from_elm(translate(TERMINOLOGY_CQL))
    with pytest.raises(CqlEvaluationError, match="no terminology provider") as info:
        engine.evaluate("Term", now=DateTime(2025, 1, 1), expressions=["Code In"])
    assert info.value.define == "Code In"
