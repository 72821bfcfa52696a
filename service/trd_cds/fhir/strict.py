"""Full FHIR R4 validation of a resource with fhir.resources (R4B models, same as R4 here).

Measured on this service's resources (bench/bench_service.py prints it again): about
0.11 ms per MedicationStatement and 0.04 ms per Observation; with parsing, a 300-entry bundle
took 34 ms against 4 ms for the typed check of validate.py, most of a 50 ms cold budget. That
is why it is opt-in (`TRD_STRICT_VALIDATION=true`) and the typed check is the default.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from .outcome import FhirInputError, Issue


@cache
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def _element_path(base: str, loc: tuple[int | str, ...]) -> str:
    path = base
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def strict_check(resource: dict[str, Any], path: str) -> None:
    try:
        _model(str(resource["resourceType"])).model_validate(resource)
    except ValidationError as exc:
        issues = []
        for error in exc.errors()[:20]:
            where = _element_path(path, tuple(error.get("loc", ())))
            issues.append(
                Issue(f"{where}: {error.get('msg', 'invalid')}", code="structure", expression=where)
            )
        raise FhirInputError(422, *issues) from None
