"""The conformance runner: suite parsing, test libraries, result comparison, verdicts, baseline."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trd_cds.cql_tools import conformance as cf
from trd_cds.cql_tools import tool
from trd_cds.engine.datatypes.temporal import Date, DateTime, Time
from trd_cds.engine.datatypes.values import Code, CqlTuple, Interval, Quantity
from trd_cds.engine.errors import CqlEvaluationError, ElmError

SUITE = """<?xml version="1.0" encoding="utf-8"?>
<tests xmlns="http://hl7.org/fhirpath/tests" name="MiniTest" version="1.0">
  <capability code="arithmetic-operators"/>
  <group name="Add" version="1.0">
    <capability code="system.long"/>
    <test name="AddInts" version="1.0">
      <expression>1 + 1</expression>
      <output>2</output>
    </test>
    <test name="AddDecimals" version="1.0">
      <capability code="decimal-precision-and-scale" value="28,8"/>
      <expression>
        1.0 + 1.0
      </expression>
      <output>2.0</output>
    </test>
  </group>
  <group name="Errors">
    <test name="SingletonOfTwo">
      <expression invalid="true">singleton from { 1, 2 }</expression>
    </test>
    <test name="NotInvalid">
      <expression invalid="false">1</expression>
      <output>1</output>
    </test>
  </group>
</tests>
"""


def mini_suite() -> list[cf.ConformanceTest]:
    return cf.parse_suite(SUITE, suite="MiniTest")


def test_parse_suite_reads_groups_tests_and_attributes() -> None:
    tests = mini_suite()
    assert [t.full_name for t in tests] == [
        "MiniTest.Add.AddInts",
        "MiniTest.Add.AddDecimals",
        "MiniTest.Errors.SingletonOfTwo",
        "MiniTest.Errors.NotInvalid",
    ]
    add_decimals = tests[1]
    assert add_decimals.expression == "1.0 + 1.0"
    assert add_decimals.outputs == ("2.0",)
    assert add_decimals.capabilities == (
        "arithmetic-operators",
        "system.long",
        "decimal-precision-and-scale=28,8",
    )
    assert tests[2].invalid == "true" and tests[2].outputs == ()
    assert tests[3].invalid is None


def test_parse_suite_from_file(tmp_path: Path) -> None:
    path = tmp_path / "MiniTest.xml"
    path.write_text(SUITE, encoding="utf-8")
    assert [t.name for t in cf.load_suites(tmp_path)] == [
        "AddInts",
        "AddDecimals",
        "SingletonOfTwo",
        "NotInvalid",
    ]


def test_select_by_substring_and_alternatives() -> None:
    tests = mini_suite()
    assert [t.name for t in cf.select(tests, "add.adddec")] == ["AddDecimals"]
    assert [t.name for t in cf.select(tests, "SingletonOfTwo|AddInts")] == [
        "AddInts",
        "SingletonOfTwo",
    ]
    assert len(cf.select(tests, None)) == 4


def test_library_text_holds_expression_and_expected_output() -> None:
    valid, invalid = mini_suite()[0], mini_suite()[2]
    text = cf.library_text(valid, 7)
    assert text.startswith("library ConformanceTest7 version '1.0.0'")
    assert 'define "Result":\n  1 + 1' in text
    assert 'define "Expected":\n  2' in text
    assert '"Expected"' not in cf.library_text(invalid, 8)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (None, None, True),
        (1, None, False),
        (1, 1, True),
        (1, Decimal("1.0"), False),  # Integer is not Decimal
        (True, 1, False),
        (Decimal("2.0"), Decimal("2.00"), True),
        ("a", "a", True),
        ([1, 2], [1, 2], True),
        ([1, 2], [2, 1], False),
        ([1, [2]], [1, [Decimal(2)]], False),
        (CqlTuple({"a": 1}), CqlTuple({"a": 1}), True),
        (CqlTuple({"a": 1}), CqlTuple({"a": 1, "b": None}), False),
        (Code("1", "s"), Code("1", "s"), True),
        (Code("1", "s"), Code("1", "t"), False),
        (Quantity(Decimal(1), "cm"), Quantity(Decimal("1.0"), "cm"), True),
        (Quantity(Decimal(1), "cm"), Decimal(1), False),
    ],
)
def test_same_value(a: Any, b: Any, same: bool) -> None:
    assert cf.same_value(a, b) is same
    assert cf.same_value(b, a) is same


def test_same_value_checks_temporal_type_and_precision() -> None:
    assert cf.same_value(DateTime(2012, 10, 6), DateTime(2012, 10, 6))
    assert not cf.same_value(DateTime(2012, 10, 6), Date(2012, 10, 6))
    assert not cf.same_value(DateTime(2012, 10, 6), DateTime(2012, 10, 6, 0))
    assert not cf.same_value(Time(10, 0), Time(10, 0, 0))
    assert cf.same_value(Time(10, 0), Time(10, 0))


def test_same_value_compares_datetimes_as_instants() -> None:
    a = DateTime(2012, 1, 1, 10, 0, 0, 0, Decimal(1))
    b = DateTime(2012, 1, 1, 9, 0, 0, 0, Decimal(0))
    assert cf.same_value(a, b)
    # No offset means the evaluation's offset (UTC in the runner).
    assert cf.same_value(DateTime(2012, 1, 1, 9, 0, 0, 0), b)
    assert not cf.same_value(DateTime(2012, 1, 1, 10, 0, 0, 0), b)


def test_same_value_intervals() -> None:
    assert cf.same_value(Interval(1, 5, True, False), Interval(1, 5, True, False))
    assert not cf.same_value(Interval(1, 5), Interval(1, 6))
    assert not cf.same_value(Interval(1, 5), [1, 5])


class FakeEngine:
    """Evaluates the two defines of a test library from a table: no translator needed."""

    def __init__(self, table: dict[str, dict[str, Any]]) -> None:
        self.table = table

    def __call__(self, elm: dict[str, Any], names: Sequence[str], now: DateTime) -> dict[str, Any]:
        row = self.table[elm["library"]["identifier"]["id"]]
        return {n: row[n] for n in names}


def elm_of(name: str) -> dict[str, Any]:
    return {"library": {"identifier": {"id": name}}}


NOW = DateTime(2024, 1, 1, 0, 0, 0, 0, Decimal(0))


def test_judge_valid_tests() -> None:
    t = mini_suite()[0]
    ok = cf.Translation(True, elm_of("A"))
    engine = FakeEngine({"A": {"Result": 2, "Expected": 2}})
    assert cf.judge(t, ok, engine, NOW).passed
    wrong = cf.judge(t, ok, FakeEngine({"A": {"Result": 3, "Expected": 2}}), NOW)
    assert not wrong.passed and wrong.category.startswith("wrong result")
    assert "got 3, expected 2" in wrong.reason
    rejected = cf.judge(
        t,
        cf.Translation(False, None, [{"line": 3, "column": 2, "message": "Could not resolve"}]),
        engine,
        NOW,
    )
    assert not rejected.passed and rejected.category == "translator rejects"
    assert "3:2 Could not resolve" in rejected.reason


def test_judge_names_unsupported_nodes_and_where_they_are() -> None:
    t = mini_suite()[0]
    ok = cf.Translation(True, elm_of("A"))
    unsupported = ElmError("unsupported ELM node type 'Quantity'", define="Expected")
    out = cf.judge(t, ok, FakeEngine({"A": {"Result": 2, "Expected": unsupported}}), NOW)
    assert out.category == "expected output: unsupported: Quantity"
    crash = cf.judge(t, ok, FakeEngine({"A": {"Result": KeyError("x"), "Expected": 2}}), NOW)
    assert crash.category == "crash: KeyError"


def test_judge_invalid_tests_pass_only_on_failure() -> None:
    t = mini_suite()[2]
    ok = cf.Translation(True, elm_of("B"))
    failing = FakeEngine({"B": {"Result": CqlEvaluationError("more than one element")}})
    assert cf.judge(t, ok, failing, NOW).passed
    assert cf.judge(t, cf.Translation(False), failing, NOW).passed
    accepted = cf.judge(t, ok, FakeEngine({"B": {"Result": 5}}), NOW)
    assert not accepted.passed and accepted.category == "invalid accepted"


def test_baseline_round_trip_and_regression_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = mini_suite()
    report = cf.Report([cf.Outcome(tests[0], True), cf.Outcome(tests[1], False, "c", "r")])
    path = tmp_path / "baseline.json"
    cf.write_baseline(path, report)
    data = json.loads(path.read_text())
    assert data["passed"] == 1 and data["failures"] == {"MiniTest.Add.AddDecimals": "c: r"}
    assert tool._check_baseline(str(path), report) == 0
    worse = cf.Report(
        [cf.Outcome(tests[0], False, "c", "r"), cf.Outcome(tests[1], False, "c", "r")]
    )
    assert tool._check_baseline(str(path), worse) == 1
    assert "MiniTest.Add.AddInts" in capsys.readouterr().out
    assert "## c (1)" in cf.failures_text(report)


needs_translator = pytest.mark.skipif(
    shutil.which("node") is None
    or not (cf.checkout_dir() / "cql" / "node_modules" / "@cqframework").exists(),
    reason="needs Node and cql/node_modules (make setup-node)",
)


@needs_translator
def test_translate_batch_reports_errors_with_positions() -> None:
    good, bad = cf.translate_batch(["library A define X: 1 + 1", "library B\ndefine X: 1 + 'a'"])
    assert good.ok and good.elm is not None
    assert good.elm["library"]["identifier"]["id"] == "A"
    assert not bad.ok and bad.errors[0]["line"] == 2
    assert "Add" in bad.errors[0]["message"]


@needs_translator
def test_run_end_to_end_on_a_synthetic_suite() -> None:
    tests = cf.select(mini_suite(), "AddInts|SingletonOfTwo|NotInvalid")
    report = cf.run(tests, now=NOW, cache_file=None)
    assert report.passed == 3, report.failures()


@pytest.mark.conformance
@needs_translator
def test_full_suite_does_not_regress() -> None:
    suite_dir = cf.checkout_dir().parent / "shared" / "cql-tests" / "cql"
    if not suite_dir.exists():
        pytest.skip("the HL7 suite is not beside the checkout")
    baseline = cf.read_baseline(
        cf.checkout_dir() / "tests" / "engine" / "conformance_baseline.json"
    )
    report = cf.run(cf.load_suites(suite_dir), cache_file=cf.default_cache_file())
    assert baseline is not None
    assert report.passed >= int(baseline["passed"])


def test_uncertain_results_match_the_suites_closed_interval() -> None:
    from trd_cds.engine.datatypes.values import Uncertainty

    assert cf.same_value(Uncertainty(4, 5), Interval(4, 5))
    assert cf.same_value(Interval(4, 5), Uncertainty(4, 5))
    assert not cf.same_value(Uncertainty(4, 5), Interval(4, 5, True, False))
    assert not cf.same_value(Uncertainty(3, 5), Interval(4, 5))


def test_failure_reasons_show_decimals_with_every_digit() -> None:
    assert cf.show(Decimal("9999999999999999999999999999.99999999")) == (
        "9999999999999999999999999999.99999999"
    )
    assert cf.show([Decimal("1.50"), 2]) == "[1.50,2]"


def test_integer_expected_literals_are_promoted_only_where_decimal_is_declared() -> None:
    dec, integer = ("Named", "Decimal"), ("Named", "Integer")
    assert cf.promote([10, 11], ("List", dec), ("List", integer)) == [Decimal(10), Decimal(11)]
    assert cf.promote(1, integer, integer) == 1 and type(cf.promote(1, integer, integer)) is int
    assert type(cf.promote(1, dec, integer)) is Decimal
    elm = {
        "library": {
            "statements": {
                "def": [
                    {
                        "name": "Result",
                        "resultTypeSpecifier": {
                            "type": "ListTypeSpecifier",
                            "elementType": {
                                "type": "NamedTypeSpecifier",
                                "name": "{urn:hl7-org:elm-types:r1}Decimal",
                            },
                        },
                    },
                    {"name": "Expected", "resultTypeName": "{urn:hl7-org:elm-types:r1}Integer"},
                ]
            }
        }
    }
    assert cf.declared_type(elm, "Result") == ("List", dec)
    assert cf.declared_type(elm, "Expected") == integer
    assert cf.declared_type(elm, "Missing") is None
