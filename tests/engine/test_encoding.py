"""The canonical JSON encoding of CQL values (../shared/cql-toolchain/ENCODING.md)."""

from __future__ import annotations

import json
from decimal import Decimal

from trd_cds.engine.datatypes.temporal import Date, DateTime, Time
from trd_cds.engine.datatypes.values import (
    Code,
    Concept,
    CqlTuple,
    Interval,
    Quantity,
    Ratio,
    Uncertainty,
)
from trd_cds.engine.encoding import compare_results, encode, encode_error
from trd_cds.engine.errors import CqlEvaluationError
from trd_cds.engine.fhir.provider import FhirElement, FhirPrimitive


def test_scalars() -> None:
    assert encode(None) is None
    assert encode(True) is True
    assert encode(3) == 3 and type(encode(3)) is int
    assert encode("abc") == "abc"


def test_decimal_is_a_number_rounded_to_8_places() -> None:
    assert encode(Decimal("1.5")) == 1.5
    assert encode(Decimal("0.123456789")) == 0.12345679
    assert encode(Decimal("2.0")) == 2.0
    json.dumps(encode(Decimal("3.14159265358979")))


def test_date_and_datetime_truncate_to_precision() -> None:
    assert encode(Date(2024)) == {"type": "Date", "value": "2024"}
    assert encode(Date(2024, 3)) == {"type": "Date", "value": "2024-03"}
    assert encode(Date(2024, 3, 1)) == {"type": "Date", "value": "2024-03-01"}
    assert encode(DateTime(2024, 3, 1)) == {"type": "DateTime", "value": "2024-03-01"}
    off = Decimal(0)
    assert encode(DateTime(2024, 3, 1, 10, offset=off))["value"] == "2024-03-01T10+00:00"
    assert encode(DateTime(2024, 3, 1, 10, 30, offset=off))["value"] == "2024-03-01T10:30+00:00"
    assert (encode(DateTime(2024, 3, 1, 10, 30, 0, 0, Decimal(-5)))["value"]
            == "2024-03-01T10:30:00.000-05:00")
    assert (encode(DateTime(2024, 3, 1, 10, 30, 5, 7, Decimal("5.5")))["value"]
            == "2024-03-01T10:30:05.007+05:30")


def test_datetime_without_offset_takes_the_default_offset_only_when_given() -> None:
    dt = DateTime(2024, 3, 1, 10, 0, 0)
    assert encode(dt)["value"] == "2024-03-01T10:00:00"
    assert encode(dt, default_offset=Decimal(0))["value"] == "2024-03-01T10:00:00+00:00"
    # A day-precision DateTime never shows an offset.
    assert encode(DateTime(2024, 3, 1), default_offset=Decimal(0))["value"] == "2024-03-01"


def test_time() -> None:
    assert encode(Time(14)) == {"type": "Time", "value": "14"}
    assert encode(Time(14, 30, 15, 250)) == {"type": "Time", "value": "14:30:15.250"}


def test_quantity_ratio_code_concept() -> None:
    assert encode(Quantity(Decimal("5"), "mg")) == {"type": "Quantity", "value": 5.0, "unit": "mg"}
    assert encode(Quantity(Decimal("2"), "")) == {"type": "Quantity", "value": 2.0, "unit": "1"}
    ratio = Ratio(Quantity(Decimal(1), "mg"), Quantity(Decimal(10), "mL"))
    assert encode(ratio) == {
        "type": "Ratio",
        "numerator": {"type": "Quantity", "value": 1.0, "unit": "mg"},
        "denominator": {"type": "Quantity", "value": 10.0, "unit": "mL"},
    }
    code = Code("123", "http://snomed.info/sct")
    assert encode(code) == {"type": "Code", "code": "123", "system": "http://snomed.info/sct"}
    assert encode(Concept((code,), "Depression")) == {
        "type": "Concept",
        "codes": [{"type": "Code", "code": "123", "system": "http://snomed.info/sct"}],
        "display": "Depression",
    }
    assert "display" not in encode(Concept((code,)))


def test_interval_list_tuple() -> None:
    assert encode(Interval(1, None, True, False)) == {
        "type": "Interval", "low": 1, "high": None, "lowClosed": True, "highClosed": False}
    assert encode([1, [2, None]]) == [1, [2, None]]
    encoded = encode(CqlTuple({"b": None, "a": Decimal("1.0")}))
    assert encoded == {"a": 1.0, "b": None}
    assert list(encoded) == ["a", "b"]


def test_uncertainty_collapses_when_exact() -> None:
    assert encode(Uncertainty(5, 17)) == {"type": "Uncertainty", "low": 5, "high": 17}
    assert encode(Uncertainty(4, 4)) == 4


def test_fhir_values() -> None:
    resource = FhirElement("Patient", {"resourceType": "Patient", "id": "p1", "gender": "male"})
    assert encode(resource) == {"type": "Resource", "resourceType": "Patient", "id": "p1"}
    period = FhirElement("Period", {"start": "2024-01-01", "end": "2024-02-01"})
    assert encode(period) == {"type": "FHIR", "fhirType": "Period",
                              "json": {"end": "2024-02-01", "start": "2024-01-01"}}
    assert encode({"text": "x"}) == {"type": "FHIR", "fhirType": "Element", "json": {"text": "x"}}
    assert encode(FhirPrimitive("code", "final")) == "final"
    assert encode(FhirPrimitive("date", Date(2024, 1, 2))) == {"type": "Date", "value": "2024-01-02"}
    assert encode(FhirPrimitive("string", None)) is None


def test_unknown_values_are_marked_unsupported() -> None:
    assert encode(object()) == {"type": "Unsupported", "jsType": "object"}


def test_error_keeps_the_first_line() -> None:
    err = CqlEvaluationError("boom\nmore detail", library="L", define="D")
    assert encode_error(err) == {"type": "Error", "message": "boom"}


def test_compare_numbers_within_tolerance_and_types_strict() -> None:
    assert compare_results({"p": {"x": 1.0}}, {"p": {"x": 1.000000001}}) == []
    assert compare_results({"p": {"x": 2}}, {"p": {"x": 2.0}}) == []
    assert compare_results({"p": {"x": 1.0}}, {"p": {"x": 1.1}}) != []
    assert compare_results({"p": {"x": True}}, {"p": {"x": 1}}) != []
    assert compare_results({"p": {"x": "1"}}, {"p": {"x": 1}}) != []


def test_compare_errors_agree_whatever_the_message() -> None:
    ours = {"p": {"x": {"type": "Error", "message": "a"}}}
    theirs = {"p": {"x": {"type": "Error", "message": "b"}}}
    assert compare_results(ours, theirs) == []
    assert compare_results(ours, {"p": {"x": None}}) != []


def test_compare_lists_ordered_unless_asked() -> None:
    assert compare_results([1, 2, 3], [3, 2, 1]) != []
    assert compare_results([1, 2, 3], [3, 2, 1], unordered=True) == []
    assert compare_results([1, 2, 2], [2, 1, 1], unordered=True) != []


def test_compare_reports_missing_entries_by_path() -> None:
    diffs = compare_results({"p1": {"A": 1}}, {"p1": {"A": 1, "B": 2}, "p2": {}})
    assert any(d.startswith("$.p1.B: missing in ours") for d in diffs)
    assert any(d.startswith("$.p2: missing in ours") for d in diffs)


def test_valueset_references() -> None:
    from trd_cds.engine.terminology import ValueSet
    assert encode(ValueSet("http://example.org/vs", "1")) == {
        "type": "ValueSet", "id": "http://example.org/vs", "version": "1"}


def test_parameter_values_decode_from_the_encoding() -> None:
    from trd_cds.cql_tools.tool import as_of_now, decode_value
    values = [Date(2024, 3, 1), DateTime(2024, 3, 1, 10, 30, 0, 0, Decimal(0)), Time(8, 15),
              Quantity(Decimal("2.5"), "mg"), Interval(1, 5, True, False),
              Code("c", "s", None, "d"), [1, "x", True]]
    for v in values:
        decoded = decode_value(json.loads(json.dumps(encode(v))))
        assert encode(decoded) == encode(v)
    assert decode_value(1.5) == Decimal("1.5") and decode_value(3) == 3
    tup = decode_value({"a": 1, "b": {"type": "Date", "value": "2020"}})
    assert isinstance(tup, CqlTuple) and tup["b"].year == 2020
    now = as_of_now("2024-06-01")
    assert encode(now) == {"type": "DateTime", "value": "2024-06-01T00:00:00.000+00:00"}
