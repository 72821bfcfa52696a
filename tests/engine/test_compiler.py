"""The compiler: literals and selectors, per-evaluation caching, typed and located errors."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import (
    CqlEvaluationError,
    ElmError,
    Engine,
    FhirDataProvider,
    FhirElement,
    FhirPrimitive,
)
from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.datatypes.values import Code, Concept, CqlTuple, Quantity, Ratio

NOW = DateTime(2025, 1, 1)


def elm_library(name: str, *defs: dict[str, Any]) -> dict[str, Any]:
    return {"library": {"identifier": {"id": name, "version": "1"},
                        "statements": {"def": list(defs)}}}


def define(name: str, expression: dict[str, Any], locator: str = "1:1-1:9") -> dict[str, Any]:
    return {"name": name, "context": "Unfiltered", "accessLevel": "Public",
            "locator": locator, "expression": expression}


def literal(value: str, kind: str) -> dict[str, Any]:
    return {"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}" + kind, "value": value}


class TestHandWrittenElm:
    def test_literals_by_value_type(self) -> None:
        engine = Engine.from_elm([elm_library(
            "L",
            define("B", literal("true", "Boolean")),
            define("I", literal("-7", "Integer")),
            define("Long", literal("9007199254740993", "Long")),
            define("D", literal("1.50", "Decimal")),
            define("S", literal("x", "String")),
            define("N", {"type": "Null"}),
        )])
        r = engine.evaluate("L", now=NOW)
        assert r == {"B": True, "I": -7, "Long": 9007199254740993, "D": Decimal("1.50"),
                     "S": "x", "N": None}
        assert type(r["D"]) is Decimal

    @pytest.mark.parametrize(("value", "kind"), [
        ("2147483648", "Integer"), ("9223372036854775808", "Long"),
        ("0.000000001", "Decimal"), ("10000000000000000000000000000.00000000", "Decimal"),
    ])
    def test_literals_outside_their_type_are_invalid(self, value: str, kind: str) -> None:
        with pytest.raises(ElmError, match=f"the {kind} literal"):
            Engine.from_elm([elm_library("L", define("X", literal(value, kind)))])

    def test_minimum_integers_arrive_negated(self) -> None:
        engine = Engine.from_elm([elm_library(
            "L",
            define("MinInteger", {"type": "Negate", "operand": literal("2147483648", "Integer")}),
            define("Max", literal("2147483647", "Integer")),
            define("Trailing Zeros", literal("1.000000000", "Decimal")),
            define("Eight Places", literal("-0.12345678", "Decimal")),
        )])
        r = engine.evaluate("L", now=NOW)
        assert r["MinInteger"] == -2147483648 and r["Max"] == 2147483647
        assert r["Trailing Zeros"] == 1
        assert r["Eight Places"] == Decimal("-0.12345678")

    def test_children_and_descendents(self) -> None:
        tuple_node = {"type": "Tuple", "element": [
            {"name": "a", "value": literal("1", "Integer")},
            {"name": "b", "value": {"type": "List", "element": [
                {"type": "Tuple", "element": [{"name": "c", "value": literal("x", "String")}]},
                {"type": "Null"}]}}]}
        engine = Engine.from_elm([elm_library(
            "T",
            define("Children", {"type": "Children", "source": tuple_node}),
            define("Descendents", {"type": "Descendents", "source": tuple_node}),
            define("Null", {"type": "Descendents", "source": {"type": "Null"}}),
        )])
        r = engine.evaluate("T", now=NOW)
        inner = CqlTuple(c="x")
        assert r["Children"] == [1, [inner, None]]
        assert r["Descendents"] == [1, [inner, None], inner, "x"]
        assert r["Null"] is None

    def test_children_of_fhir_elements_follow_the_model(self) -> None:
        from trd_cds.engine.ops.structure import children

        period = FhirElement("Period", {"start": "2024-01-01", "id": "p"})
        found = children(period)
        assert found[0] == "p"  # Element.id comes first: base type elements lead
        assert isinstance(found[1], FhirPrimitive) and found[1].fhir_type == "dateTime"

    def test_unknown_node_type_names_library_define_and_locator(self) -> None:
        bad = define("X", {"type": "List", "element": [
            {"type": "NoSuchOperator", "locator": "3:5-3:10"}]}, locator="3:1-3:10")
        with pytest.raises(ElmError) as info:
            Engine.from_elm([elm_library("Bad", bad)])
        err = info.value
        assert (err.library, err.define, err.locator) == ("Bad", "X", "3:5-3:10")
        assert "NoSuchOperator" in str(err) and "library Bad" in str(err)

    def test_malformed_node_is_an_elm_error(self) -> None:
        with pytest.raises(ElmError, match="malformed Property") as info:
            Engine.from_elm([elm_library("Bad", define(
                "X", {"type": "Property", "locator": "2:2-2:4"}))])
        assert info.value.define == "X" and info.value.locator == "2:2-2:4"

    def test_bad_literal_is_an_elm_error(self) -> None:
        with pytest.raises(ElmError, match=r"bad .*Integer literal"):
            Engine.from_elm([elm_library("Bad", define("X", literal("one", "Integer")))])

    def test_unknown_reference_is_an_elm_error(self) -> None:
        with pytest.raises(ElmError, match="unknown expression Nope") as info:
            Engine.from_elm([elm_library("Bad", define(
                "X", {"type": "ExpressionRef", "name": "Nope", "locator": "5:1-5:4"}))])
        assert info.value.locator == "5:1-5:4"


SELECTORS = """
library Selectors version '1'
codesystem "SYS": 'http://example.org/sys' version '2'
code "C1": 'a' from "SYS" display 'A'
define "Tuple": Tuple { a: 1, b: 'x', c: null as Integer }
define "List": { 1, null, 3 }
define "Code": Code { code: 'c', system: 's', display: 'd' }
define "Concept": Concept { codes: { Code { code: 'c', system: 's' } }, display: 'cc' }
define "Quantity": 5.5 'mg'
define "Ratio": 1 'mg' : 2 'mL'
define "Code Ref": "C1"
define "Tuple Property": "Tuple".b
define "Quantity Property": "Quantity".unit
define "Code Property": "Code".system
define "Interval Property": Interval[1, 5).highClosed
define "Is Integer": 5 is Integer
define "Is Not String": 5 is String
define "As Null": (null as Integer) as Integer
define "To List": { 1 } union { 2 }
"""

FAULTS = """
library Faults version '1'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1' called FHIRHelpers
context Patient
define "Statements": [MedicationStatement]
define "Twice": Count("Statements") + Count("Statements")
define "Union": "Statements" union "Statements"
define "Strict Cast": First("Statements").effective as FHIR.Period
define "Cast Failure": cast (First("Statements").effective) as FHIR.Period
define "Singleton Failure": singleton from { 1, 2 }
define "Depends On Failure": "Cast Failure" is null
"""

STATEMENT = {"resourceType": "MedicationStatement", "id": "ms1", "status": "active",
             "effectiveDateTime": "2024-01-01"}


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    return {"selectors": Engine.from_elm(translate(SELECTORS)),
            "faults": Engine.from_elm(translate(FAULTS))}


class CountingProvider:
    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.inner = FhirDataProvider(resources)
        self.calls = 0

    def retrieve(self, data_type: str, **hints: Any) -> Sequence[Any]:
        self.calls += 1
        return self.inner.retrieve(data_type, **hints)


class FailingProvider:
    def retrieve(self, data_type: str, **hints: Any) -> Sequence[Any]:
        raise KeyError(data_type)


@needs_translator
class TestTranslated:
    def test_selectors(self, engines: dict[str, Engine]) -> None:
        r = engines["selectors"].evaluate("Selectors", now=NOW)
        assert r["Tuple"] == CqlTuple(a=1, b="x", c=None)
        assert r["List"] == [1, None, 3]
        assert r["Code"] == Code("c", "s", None, "d")
        assert r["Concept"] == Concept((Code("c", "s"),), "cc")
        assert r["Quantity"] == Quantity(Decimal("5.5"), "mg")
        assert r["Ratio"] == Ratio(Quantity(Decimal(1), "mg"), Quantity(Decimal(2), "mL"))
        assert r["Code Ref"] == Code("a", "http://example.org/sys", "2", "A")
        assert r["Tuple Property"] == "x"
        assert r["Quantity Property"] == "mg"
        assert r["Code Property"] == "s"
        assert r["Interval Property"] is False
        assert (r["Is Integer"], r["Is Not String"], r["As Null"]) == (True, False, None)
        assert r["To List"] == [1, 2]

    def test_each_define_is_evaluated_once_per_evaluation(self, engines: dict[str, Engine]
                                                         ) -> None:
        provider = CountingProvider([STATEMENT])
        r = engines["faults"].evaluate("Faults", data=provider, now=NOW,
                                       expressions=["Twice", "Union", "Statements"])
        assert r["Twice"] == 2 and len(r["Union"]) == 1
        assert provider.calls == 1
        engines["faults"].evaluate("Faults", data=provider, now=NOW, expressions=["Twice"])
        assert provider.calls == 2  # a new evaluation starts with an empty cache

    def test_soft_cast_gives_null_strict_cast_raises(self, engines: dict[str, Engine]) -> None:
        engine = engines["faults"]
        data = FhirDataProvider([STATEMENT])
        assert engine.evaluate("Faults", data=data, now=NOW,
                               expressions=["Strict Cast"]) == {"Strict Cast": None}
        with pytest.raises(CqlEvaluationError, match=r"cannot cast FHIR\.dateTime") as info:
            engine.evaluate("Faults", data=data, now=NOW, expressions=["Cast Failure"])
        err = info.value
        assert (err.library, err.define) == ("Faults", "Cast Failure")
        assert err.locator is not None and err.locator.startswith("10:")

    def test_errors_from_referenced_defines_name_the_failing_define(
            self, engines: dict[str, Engine]) -> None:
        with pytest.raises(CqlEvaluationError) as info:
            engines["faults"].evaluate("Faults", data=FhirDataProvider([STATEMENT]), now=NOW,
                                       expressions=["Depends On Failure"])
        assert info.value.define == "Cast Failure"

    def test_operator_errors_are_located(self, engines: dict[str, Engine]) -> None:
        with pytest.raises(CqlEvaluationError) as info:
            engines["faults"].evaluate("Faults", now=NOW, expressions=["Singleton Failure"])
        assert (info.value.library, info.value.define) == ("Faults", "Singleton Failure")
        assert info.value.locator is not None

    def test_python_faults_become_typed_errors(self, engines: dict[str, Engine]) -> None:
        with pytest.raises(CqlEvaluationError, match="KeyError") as info:
            engines["faults"].evaluate("Faults", data=FailingProvider(), now=NOW,
                                       expressions=["Statements"])
        err = info.value
        assert (err.library, err.define) == ("Faults", "Statements")
        assert err.locator is not None and err.locator.startswith("6:")
        assert isinstance(err.__cause__, KeyError)

    def test_concurrent_evaluations_do_not_share_state(self, engines: dict[str, Engine]
                                                      ) -> None:
        engine = engines["faults"]

        def count(n: int) -> int:
            resources = [dict(STATEMENT, id=f"ms{i}") for i in range(n)]
            r = engine.evaluate("Faults", data=FhirDataProvider(resources), now=NOW,
                                expressions=["Twice"])
            return int(r["Twice"])

        sizes = [i % 7 for i in range(200)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(count, sizes)) == [2 * n for n in sizes]


def test_instance_of_fhir_types_builds_fhir_values() -> None:
    from trd_cds.engine.runtime.compiler import LibraryCompiler
    from trd_cds.engine.runtime.library import LibraryManager

    manager = LibraryManager()
    lib = elm_library("I")
    lib["library"]["usings"] = {"def": [{"localIdentifier": "FHIR", "uri": "http://hl7.org/fhir",
                                         "version": "4.0.1"}]}
    manager.load([lib])
    compiler = LibraryCompiler(manager.get("I"))
    coding = compiler.compile({
        "type": "Instance", "classType": "{http://hl7.org/fhir}Coding", "element": [
            {"name": "code", "value": {"type": "Instance", "classType": "{http://hl7.org/fhir}code",
                                       "element": [{"name": "value", "value": literal("x", "String")}]}},
        ]})
    value = coding(Engine(manager).context(manager.get("I"), data=None, now=NOW))
    assert isinstance(value, FhirElement) and value.fhir_type == "Coding"
    code = value.cql_property("code")
    assert isinstance(code, FhirPrimitive) and code.fhir_type == "code" and code.value == "x"
    assert copy.copy(code) == code
