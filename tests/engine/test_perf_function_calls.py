"""A one-operand function without effects is evaluated once per operand object and
evaluation: calling it again with the same FHIR element (or value) reuses the result. A
function that emits a Message, directly or through another function, is evaluated every time.
The data provider counts the retrieves each function body makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from cql_translate import needs_translator, translate

from trd_cds.engine import Engine, FhirDataProvider
from trd_cds.engine.datatypes.temporal import DateTime
from trd_cds.engine.ops.refs import is_quiet

pytestmark = needs_translator

LIBRARY = """
library PerfCalls version '1.0.0'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1' called FHIRHelpers
context Patient

define function "Observation Count"(P FHIR.Patient): Count([Observation])
define function "Noisy Count"(P FHIR.Patient):
  Message(Count([Observation]), true, 'n', 'Message', 'counted')
define function "Calls Noisy"(P FHIR.Patient): "Noisy Count"(P) + 0

define "Quiet Calls": { "Observation Count"(Patient), "Observation Count"(Patient),
  "Observation Count"(Patient) }
define "Noisy Calls": { "Noisy Count"(Patient), "Noisy Count"(Patient) }
define "Indirectly Noisy Calls": { "Calls Noisy"(Patient), "Calls Noisy"(Patient) }
define "First Use": "Observation Count"(Patient)
define "Second Use": "Observation Count"(Patient) + 1
"""


class CountingProvider(FhirDataProvider):
    def __init__(self, resources: list[dict[str, Any]]) -> None:
        super().__init__(resources)
        self.observation_retrieves = 0

    def retrieve(self, data_type: str, **filters: Any) -> Sequence[Any]:
        if data_type == "Observation":
            self.observation_retrieves += 1
        return super().retrieve(data_type, **filters)


RESOURCES = [
    {"resourceType": "Patient", "id": "p"},
    {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}},
    {"resourceType": "Observation", "id": "o2", "status": "final", "code": {"text": "y"}},
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_elm(translate(LIBRARY))


def evaluate(engine: Engine, *defines: str) -> tuple[Any, int]:
    provider = CountingProvider(RESOURCES)
    result = engine.evaluate("PerfCalls", data=provider, now=DateTime(2025, 1, 1),
                             expressions=list(defines))
    values = [result[d] for d in defines]
    return values[0] if len(values) == 1 else values, provider.observation_retrieves


def test_quiet_function_runs_once_per_operand(engine: Engine) -> None:
    assert evaluate(engine, "Quiet Calls") == ([2, 2, 2], 1)


def test_results_are_shared_across_defines_of_one_evaluation(engine: Engine) -> None:
    assert evaluate(engine, "First Use", "Second Use") == ([2, 3], 1)
    # A new evaluation starts afresh.
    assert evaluate(engine, "Second Use") == (3, 1)


def test_function_with_a_message_runs_every_time(engine: Engine) -> None:
    assert evaluate(engine, "Noisy Calls") == ([2, 2], 2)
    assert evaluate(engine, "Indirectly Noisy Calls") == ([2, 2], 2)


def test_quietness_follows_calls(engine: Engine) -> None:
    lib = engine.library("PerfCalls")
    assert is_quiet(lib, lib.functions["Observation Count"][0])
    assert not is_quiet(lib, lib.functions["Noisy Count"][0])
    assert not is_quiet(lib, lib.functions["Calls Noisy"][0])
