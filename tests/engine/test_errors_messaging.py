"""The Message operator (CqlErrorsAndMessagingOperatorsTest.xml)."""

from __future__ import annotations

from typing import Any

import pytest
from elm_stubs import NEW_YEAR_2024, Stub, const

from trd_cds.engine.errors import CqlMessageError
from trd_cds.engine.ops import errors  # noqa: F401  (registers the node types)
from trd_cds.engine.runtime.context import Context
from trd_cds.engine.runtime.registry import NODES, ElmNode


def message(source: Any, condition: bool | None, code: str, severity: str,
            text: str) -> tuple[Any, Context]:
    fields = {"source": source, "condition": condition, "code": code, "severity": severity,
              "message": text}
    node: ElmNode = {"type": "Message", "locator": "3:5-3:60",
                     **{k: const(v) for k, v in fields.items()}}
    ctx = Context(now=NEW_YEAR_2024)
    return NODES["Message"](node, Stub())(ctx), ctx


@pytest.mark.parametrize("severity", ["Message", "Warning", "Trace"])
def test_messages_are_recorded_and_the_source_returned(severity: str) -> None:
    result, ctx = message([3, 4, 5], True, "300", severity, "This is a trace")
    assert result == [3, 4, 5]
    assert ctx.messages == [(severity, "300", "This is a trace")]


def test_no_message_when_the_condition_is_not_true() -> None:
    for condition in (False, None):
        result, ctx = message(1, condition, "100", "Error", "never raised")
        assert result == 1 and ctx.messages == []


def test_error_severity_raises() -> None:
    with pytest.raises(CqlMessageError) as info:
        message(4, True, "400", "Error", "This is an error!")
    assert info.value.message == "400: This is an error!"
    assert info.value.code == "400"
    assert info.value.locator == "3:5-3:60"
