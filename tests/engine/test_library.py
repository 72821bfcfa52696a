"""Libraries: includes, parameters, functions (overloads, fluent, across libraries)."""

from __future__ import annotations

from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import ElmError, Engine, LibraryManager
from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.datatypes.values import Interval

pytestmark = needs_translator

NOW = DateTime(2025, 3, 1, 12, 0, 0, 0)

COMMON = """
library Common version '2.1.0'

parameter "Threshold" Integer default 10
parameter "Window" Interval<Integer> default Interval[1, 5]

define "Base": 100
define "Above Threshold": ({5, 15, 25}) X where X > "Threshold"
define function "Twice"(x Integer): x * 2
define function "Describe"(x Integer): 'integer ' + ToString(x)
define function "Describe"(x String): 'string ' + x
define function "Describe"(x Integer, y Integer): 'pair ' + ToString(x + y)
define fluent function "plus"(x Integer, y Integer): x + y
define private "Hidden": 'secret'
"""

MAIN = """
library Main version '1.0.0'

include Common version '2.1.0' called C

parameter "Factor" Integer default 3
parameter "Label" String

define "From Include": C."Base" + 1
define "Included Parameter": C."Threshold"
define "Included Query": C."Above Threshold"
define "Own Parameter": "Factor"
define "Unset Parameter": "Label"
define "Included Function": C."Twice"(21)
define "Overload Integer": C."Describe"(7)
define "Overload String": C."Describe"('x')
define "Overload Arity": C."Describe"(1, 2)
define "Fluent": 40.plus(2)
define "Local Function": "Square"(9)
define "Nested Calls": "Square"("Square"(2))
define "Function Over Query": ({1, 2, 3}) X return "Square"(X)
define "Window Length": end of C."Window" - start of C."Window"
define function "Square"(x Integer): x * x
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_elm(translate(MAIN, COMMON))


def evaluate(engine: Engine, **kw: Any) -> dict[str, Any]:
    return engine.evaluate("Main", now=NOW, **kw)


def test_includes_parameters_and_functions(engine: Engine) -> None:
    r = evaluate(engine)
    assert r["From Include"] == 101
    assert r["Included Parameter"] == 10
    assert r["Included Query"] == [15, 25]
    assert r["Own Parameter"] == 3
    assert r["Unset Parameter"] is None
    assert r["Included Function"] == 42
    assert r["Overload Integer"] == "integer 7"
    assert r["Overload String"] == "string x"
    assert r["Overload Arity"] == "pair 3"
    assert r["Fluent"] == 42
    assert r["Local Function"] == 81
    assert r["Nested Calls"] == 16
    assert r["Function Over Query"] == [1, 4, 9]
    assert r["Window Length"] == 4


def test_parameters_given_by_the_caller_override_defaults(engine: Engine) -> None:
    r = evaluate(engine, parameters={
        "Factor": 7, "Label": "hello", "Common.Threshold": 20,
        "Common.Window": Interval(2, 12),
    })
    assert r["Own Parameter"] == 7
    assert r["Unset Parameter"] == "hello"
    assert r["Included Parameter"] == 20
    assert r["Included Query"] == [25]
    assert r["Window Length"] == 10
    # Overrides live in the evaluation only: the next one sees the defaults again.
    assert evaluate(engine)["Own Parameter"] == 3


def test_unqualified_parameter_names_apply_to_the_evaluated_library_only(engine: Engine) -> None:
    r = evaluate(engine, parameters={"Threshold": 1})
    assert r["Included Parameter"] == 10


def test_selected_expressions_only(engine: Engine) -> None:
    assert evaluate(engine, expressions=["Fluent"]) == {"Fluent": 42}


def test_private_defines_are_not_reported_but_public_ones_are(engine: Engine) -> None:
    common = engine.evaluate("Common", now=NOW)
    assert "Hidden" not in common
    assert common["Base"] == 100
    assert engine.evaluate("Common", now=NOW, expressions=["Hidden"]) == {"Hidden": "secret"}


def test_unknown_define_is_a_typed_error(engine: Engine) -> None:
    with pytest.raises(ElmError, match="no define 'Nope'"):
        evaluate(engine, expressions=["Nope"])


def test_missing_include_is_reported_when_loading() -> None:
    main_only = [elm for elm in translate(MAIN, COMMON)
                 if elm["library"]["identifier"]["id"] == "Main"]
    with pytest.raises(ElmError, match=r"library Common version 2\.1\.0 is not loaded"):
        Engine.from_elm(main_only)


def test_library_manager_keys_by_name_and_version() -> None:
    manager = LibraryManager()
    manager.load(translate(MAIN, COMMON))
    assert manager.get("Common", "2.1.0").version == "2.1.0"
    assert manager.get("Common").name == "Common"  # the version loaded last
    with pytest.raises(ElmError):
        manager.get("Common", "9.9.9")
    assert {"Main", "Common", "FHIRHelpers"} <= set(manager.names())


def test_from_elm_dir_loads_every_json_file(tmp_path: Any) -> None:
    import json

    for elm in translate(MAIN, COMMON):
        (tmp_path / f"{elm['library']['identifier']['id']}.json").write_text(json.dumps(elm))
    engine = Engine.from_elm_dir(tmp_path)
    assert engine.evaluate("Main", now=NOW, expressions=["Included Function"]) == {
        "Included Function": 42}


def test_not_an_elm_library() -> None:
    with pytest.raises(ElmError, match="not an ELM library"):
        Engine.from_elm([{"nothing": 1}])
