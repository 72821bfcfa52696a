"""The FHIR model comes from the library's ``using FHIR version``, not from a global."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trd_cds.engine import ElmError, Engine
from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.fhir.model import PACKAGED_MODELS, packaged_model

FHIR = "http://hl7.org/fhir"
NOW = DateTime(2025, 1, 1)


def library(name: str, usings: list[dict[str, Any]], *defs: dict[str, Any]) -> dict[str, Any]:
    return {"library": {"identifier": {"id": name, "version": "1"},
                        "usings": {"def": usings},
                        "statements": {"def": list(defs)}}}


SYSTEM_USING = {"localIdentifier": "System", "uri": "urn:hl7-org:elm-types:r1"}


def fhir_using(version: str | None) -> dict[str, Any]:
    found = {"localIdentifier": "FHIR", "uri": FHIR}
    return found | ({"version": version} if version else {})


IS_PATIENT = {"name": "Null Is Patient", "context": "Unfiltered", "accessLevel": "Public",
              "expression": {"type": "Is", "operand": {"type": "Null"},
                             "isTypeSpecifier": {"type": "NamedTypeSpecifier",
                                                 "name": "{http://hl7.org/fhir}Patient"}}}


def test_the_declared_version_picks_the_packaged_model() -> None:
    engine = Engine.from_elm([library("R4", [SYSTEM_USING, fhir_using("4.0.1")], IS_PATIENT)])
    model = engine.library("R4").fhir_model
    assert model is packaged_model("4.0.1")
    assert model.version == "4.0.1"
    assert engine.evaluate("R4", now=NOW) == {"Null Is Patient": False}


@pytest.mark.parametrize("version", ["3.0.0", "4.3.0", "5.0.0"])
def test_an_unpackaged_fhir_version_is_an_error_at_load(version: str) -> None:
    assert version not in PACKAGED_MODELS
    with pytest.raises(ElmError) as info:
        Engine.from_elm([library("Old", [SYSTEM_USING, fhir_using(version)])])
    assert info.value.library == "Old"
    assert f"FHIR version {version} has no packaged model" in info.value.message
    assert "packaged: 4.0.1" in info.value.message


def test_using_fhir_without_a_version_is_an_error_at_load() -> None:
    with pytest.raises(ElmError, match="without a version"):
        Engine.from_elm([library("NoVersion", [fhir_using(None)])])


def test_an_unknown_data_model_is_an_error_at_load() -> None:
    qdm = {"localIdentifier": "QDM", "uri": "urn:healthit-gov:qdm:v5_6", "version": "5.6"}
    with pytest.raises(ElmError, match="unsupported data model urn:healthit-gov:qdm") as info:
        Engine.from_elm([library("Qdm", [SYSTEM_USING, qdm])])
    assert info.value.library == "Qdm"


def test_a_fhir_type_in_a_library_without_using_fhir_is_an_error() -> None:
    with pytest.raises(ElmError, match="FHIR type Patient in a library without using FHIR"):
        Engine.from_elm([library("SystemOnly", [SYSTEM_USING], IS_PATIENT)])


def test_every_project_library_gets_the_model_it_declares() -> None:
    elm = Path(__file__).resolve().parents[2] / "cql" / "elm"
    engine = Engine.from_elm_dir(elm)
    uses_fhir = set()
    for name in engine.manager.names():
        lib = engine.library(name)
        declared = {u.get("version") for u in lib.elm["usings"]["def"] if u["uri"] == FHIR}
        if declared:
            uses_fhir.add(name)
            assert declared == {"4.0.1"}, name
            assert lib.fhir_model is packaged_model("4.0.1"), name
        else:
            assert lib.fhir_model is None, name
    assert {"FHIRHelpers", "TRDAssessment"} <= uses_fhir
