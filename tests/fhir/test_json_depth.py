"""The byte-level depth check agrees with the depth of the parsed JSON, whatever the strings
hold (brackets, quotes, backslashes)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trd_cds.fhir.bundle import check_depth
from trd_cds.fhir.outcome import FhirInputError

# Strings made of the characters that could fool a byte scanner.
tricky_text = st.text(alphabet='[]{}"\\/ab\n\u00e9', max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | tricky_text,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=40,
)


def parsed_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((parsed_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((parsed_depth(v) for v in value.values()), default=0)
    return 0


def accepted(body: bytes, max_depth: int) -> bool:
    try:
        check_depth(body, max_depth)
    except FhirInputError as exc:
        assert exc.status == 413
        return False
    return True


@settings(max_examples=400)
@given(json_values)
def test_depth_check_matches_parsed_depth(value: Any) -> None:
    body = orjson.dumps(value)
    depth = parsed_depth(value)
    assert accepted(body, depth)
    if depth > 0:
        assert not accepted(body, depth - 1)


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (rb'{"a": "x\\\\", "b": [[1]]}', 3),  # an escaped backslash ends right before a quote
        (rb'{"a": "x\"[[[[", "b": 1}', 1),  # an escaped quote does not end the string
        (rb'{"a": "x\\\"{{{{"}', 1),
        (rb'"\\u005b\\u005b"', 0),
        (b'[ [ {"a" : [ ] } ] ]', 4),
    ],
)
def test_escapes_and_whitespace(body: bytes, depth: int) -> None:
    orjson.loads(body)  # the check only ever sees valid JSON
    assert accepted(body, depth)
    if depth > 0:
        assert not accepted(body, depth - 1)
