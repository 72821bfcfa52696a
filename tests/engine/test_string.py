"""String operators (CqlStringOperatorsTest.xml and the CQL reference examples)."""

from __future__ import annotations

from typing import Any

import pytest
from elm_stubs import SYSTEM, evaluate
from elm_stubs import const as c

from trd_cds.engine.ops import string  # noqa: F401  (registers the node types)
from trd_cds.engine.runtime.registry import ElmNode


def op(kind: str, *operands: Any, sig: list[dict[str, Any]] | None = None) -> Any:
    nodes = [c(o) for o in operands]
    node: ElmNode = {"type": kind, "operand": nodes[0] if len(nodes) == 1 else nodes}
    if sig is not None:
        node["signature"] = sig
    return evaluate(node)


def fields(kind: str, **values: Any) -> Any:
    return evaluate({"type": kind, **{k: c(v) for k, v in values.items() if v is not ...}})


def test_concatenate() -> None:
    assert op("Concatenate", "a", "b") == "ab"
    assert op("Concatenate", "a", "b", "c") == "abc"
    assert op("Concatenate", "a", None) is None
    assert op("Concatenate", None, None) is None


def test_combine() -> None:
    assert fields("Combine", source=["a", "b", "c"]) == "abc"
    assert fields("Combine", source=["a", "b", "c"], separator="-") == "a-b-c"
    assert fields("Combine", source=["A", None, "C"], separator=" ") == "A C"
    assert fields("Combine", source=None) is None
    assert fields("Combine", source=[]) is None
    assert fields("Combine", source=[None, None]) is None


def test_split() -> None:
    assert fields("Split", stringToSplit="a,b", separator=",") == ["a", "b"]
    assert fields("Split", stringToSplit="a,b", separator="-") == ["a,b"]
    assert fields("Split", stringToSplit="a,b", separator=None) == ["a,b"]
    assert fields("Split", stringToSplit=None, separator=",") is None
    assert fields("Split", stringToSplit="abc", separator="") == ["abc"]
    assert fields("SplitOnMatches", stringToSplit="a1b22c", separatorPattern="\\d+") == [
        "a",
        "b",
        "c",
    ]
    # Groups in the separator pattern are not part of the result (unlike Python's re.split).
    parts = fields("SplitOnMatches", stringToSplit="a1b22c", separatorPattern="(\\d)+")
    assert parts == ["a", "b", "c"]
    assert fields("SplitOnMatches", stringToSplit="a,b", separatorPattern=None) == ["a,b"]


LIST_SIG = [
    {
        "type": "ListTypeSpecifier",
        "elementType": {"type": "NamedTypeSpecifier", "name": SYSTEM + "Any"},
    }
]
STRING_SIG = [{"type": "NamedTypeSpecifier", "name": SYSTEM + "String"}]


def test_length_of_strings_and_lists() -> None:
    assert op("Length", "ab", sig=STRING_SIG) == 2
    assert op("Length", "", sig=STRING_SIG) == 0
    assert op("Length", None, sig=STRING_SIG) is None
    assert op("Length", [1, None, 3], sig=LIST_SIG) == 3
    assert op("Length", None, sig=LIST_SIG) == 0  # the length of a null list is 0


@pytest.mark.parametrize(
    ("value", "index", "expected"),
    [
        ("ab", 0, "a"),
        ("ab", 1, "b"),
        ("ab", 2, None),
        ("ab", -1, None),
        ("a", None, None),
        (None, 1, None),
        ([1, 2], 1, 2),
        ([1, 2], -1, None),
    ],
)
def test_indexer(value: Any, index: Any, expected: Any) -> None:
    assert op("Indexer", value, index) == expected


def test_case_and_affixes() -> None:
    assert op("Upper", "aB") == "AB"
    assert op("Lower", "Ab") == "ab"
    assert op("Upper", None) is None
    assert op("StartsWith", "Breathe deep", "Bre") is True
    assert op("StartsWith", "Breathe deep", "bre") is False
    assert op("EndsWith", "the man!!", "n!!") is True
    assert op("EndsWith", "the man!!", "") is True
    assert op("EndsWith", None, None) is None


def test_positions() -> None:
    assert fields("PositionOf", pattern="b", string="ab") == 1
    assert fields("PositionOf", pattern="c", string="ab") == -1
    assert fields("PositionOf", pattern=None, string="ab") is None
    assert fields("LastPositionOf", pattern="hi", string="Say hi to Ohio!") == 11
    assert fields("LastPositionOf", pattern="hi", string=None) is None


@pytest.mark.parametrize(
    ("text", "start", "length", "expected"),
    [
        ("ab", 0, ..., "ab"),
        ("ab", 1, ..., "b"),
        ("ab", 2, ..., None),
        ("ab", -1, ..., None),
        ("", 0, ..., ""),
        ("ab", 0, 1, "a"),
        ("abc", 1, 1, "b"),
        ("ab", 0, 3, "ab"),
        ("ab", None, ..., None),
        (None, 1, ..., None),
        ("ABCDE", 2, None, "CDE"),
    ],
)
def test_substring(text: Any, start: Any, length: Any, expected: Any) -> None:
    assert fields("Substring", stringToSub=text, startIndex=start, length=length) == expected


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("Not all who wander are lost", ".*\\d+", False),
        ("Not all who wander are lost - circa 2017", ".*\\d+", True),
        ("Not all who wander are lost", "[\\w|\\s]+", True),
        ("Not all who wander are lost - circa 2017", "^[\\w\\s]+$", False),
        ("   ", "\\W+", True),
        (" \n\t", "\\s+", True),
        ("1,2three", "\\d,\\d\\w+", True),
        # the whole string must match (Java's String.matches, cql-execution's ^...$)
        ("http://fhir.org/Library/FHIR-ModelInfo|4.0.1", "Library", False),
        ("http://fhir.org/Library/FHIR-ModelInfo|4.0.1", ".*Library.*", True),
        ("line1\nline2", "line1.line2", True),  # single-line mode: '.' matches a newline
        ("Not all who wander are lost", None, None),
    ],
)
def test_matches(text: str, pattern: str | None, expected: bool | None) -> None:
    assert op("Matches", text, pattern) is expected


@pytest.mark.parametrize(
    ("text", "pattern", "substitution", "expected"),
    [
        ("Who put the bop in the bop", "bop", "bang", "Who put the bang in the bang"),
        ("All that glitters", "\\s", "\\$", "All$that$glitters"),
        ("ABCDE", "C", "XYZ", "ABXYZDE"),
        ("2024-03-01", "(\\d+)-(\\d+)-(\\d+)", "$3/$2/$1", "01/03/2024"),
        ("John Smith", "(?<first>\\w+) (?<last>\\w+)", "${last}, ${first}", "Smith, John"),
        ("a.b", "\\.", "\\\\", "a\\b"),
        ("ab", "(a)", "$10", "a0b"),  # one group only: $1, then a literal 0
        ("ABCDE", "C", None, None),
    ],
)
def test_replace_matches(
    text: str, pattern: str, substitution: str | None, expected: str | None
) -> None:
    assert op("ReplaceMatches", text, pattern, substitution) == expected
