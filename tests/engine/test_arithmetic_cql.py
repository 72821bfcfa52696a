"""The operator families end to end: CQL text through the reference translator, the
compiler and the engine. These check that each operator reads the ELM the translator really
emits (result types, signatures, implicit conversions, field names)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import Engine
from trd_cds.engine.datatypes.temporal import Date, DateTime
from trd_cds.engine.datatypes.values import Uncertainty
from trd_cds.engine.errors import CqlMessageError

NOW = DateTime(2024, 3, 1, 0, 0, 0, 0, Decimal(0))

LIB = """library OperatorsTest version '1.0.0'

define "Int Sum": 2147483646 + 1
define "Int Overflow": 2147483647 + 1
define "Long Sum": 2147483647L + 1
define "Mixed Sum": 1 + 2.5
define "Division": 10 / 4
define "Division By Zero": 1 / 0
define "Truncated": -10 div 3
define "Remainder": -10 mod 3
define "Negative Power": 2 ^ -2
define "Long Power": 2L ^ 62
define "Rounded": Round(-1.5)
define "Rounded Places": Round(3.14159, 3)
define "Ceiling Overflow": Ceiling(2147483647.2)
define "Log Base 2": Log(16, 2)
define "Minimum Integer": -2147483648
define "Maximum Long": maximum Long
define "Decimal Precision": Precision(1.58700)
define "High Boundary": HighBoundary(@2024-02, 8)
define "Date Plus Month": @2024-01-31 + 1 month
define "Successor": successor of 1.0
define "Uncertain Months": months between @2012 and @2013-03
define "Uncertain Plus One": (months between @2012 and @2013-03) + 1
define "Uncertain Less": (months between @2012 and @2013-03) < 20
define "Short Circuit": false and (1 / 0 > 1)
define "Implies Null": null implies true
define "Coalesce List": Coalesce({ null, null, 'x' })
define "Case Selected": case 3 when 1 then 'one' when 3 then 'three' else 'many' end
define "If Null": if null then 'yes' else 'no'
define "Joined": 'a' & null & 'b'
define "Plus Null": 'a' + null
define "Combined": Combine({ 'A', null, 'C' }, '-')
define "Replaced": ReplaceMatches('2024-03-01', '(\\\\d+)-(\\\\d+)-(\\\\d+)', '$3.$2.$1')
define "Matched": Matches('Library|4.0.1', 'Library\\|\\d.*')
define "Not Matched": Matches('Library|4.0.1', 'Library')
define "Substring Past End": Substring('ab', 2)
define "String Length": Length('abc')
define "List Length": Length(null as List<Integer>)
define "Indexed": 'abc'[1]
define "List Indexed": { 1, 2, 3 }[5]
define "Traced": Message(42, true, 'T1', 'Trace', 'traced')
define "Failed": Message(4, true, '400', 'Error', 'This is an error!')
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_elm(translate(LIB))


def value(engine: Engine, name: str) -> Any:
    return engine.evaluate("OperatorsTest", now=NOW, expressions=[name])[name]


EXPECTED: dict[str, Any] = {
    "Int Sum": 2147483647,
    "Int Overflow": None,
    "Long Sum": 2147483648,
    "Mixed Sum": Decimal("3.5"),
    "Division": Decimal("2.5"),
    "Division By Zero": None,
    "Truncated": -3,
    "Remainder": -1,
    "Negative Power": Decimal("0.25"),
    "Long Power": 2**62,
    "Rounded": Decimal(-2),
    "Rounded Places": Decimal("3.142"),
    "Ceiling Overflow": None,
    "Log Base 2": Decimal(4),
    "Minimum Integer": -(2**31),
    "Maximum Long": 2**63 - 1,
    "Decimal Precision": 5,
    "High Boundary": Date(2024, 2, 29),
    "Date Plus Month": Date(2024, 2, 29),
    "Successor": Decimal("1.00000001"),
    "Uncertain Months": Uncertainty(2, 14),
    "Uncertain Plus One": Uncertainty(3, 15),
    "Uncertain Less": True,
    "Short Circuit": False,
    "Implies Null": True,
    "Coalesce List": "x",
    "Case Selected": "three",
    "If Null": "no",
    "Joined": "ab",
    "Plus Null": None,
    "Combined": "A-C",
    "Replaced": "01.03.2024",
    "Matched": True,
    "Not Matched": False,
    "Substring Past End": None,
    "String Length": 3,
    "List Length": 0,
    "Indexed": "b",
    "List Indexed": None,
}


@needs_translator
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_operator(engine: Engine, name: str) -> None:
    result = value(engine, name)
    expected = EXPECTED[name]
    assert result == expected
    assert type(result) is type(expected)  # Integer stays int, Decimal stays Decimal


@needs_translator
def test_messages(engine: Engine) -> None:
    lib = engine.library("OperatorsTest")
    ctx = engine.context(lib, data=None, now=NOW)
    entry = lib.defs["Traced"]
    assert entry.evaluator is not None
    assert entry.evaluator(ctx) == 42
    assert ctx.messages == [("Trace", "T1", "traced")]
    with pytest.raises(CqlMessageError, match="400: This is an error!"):
        value(engine, "Failed")
