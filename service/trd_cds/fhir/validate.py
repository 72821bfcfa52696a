"""Validation of the resources the rules read, on the cache-miss path.

Two modes, chosen by measurement (bench/bench_service.py and the numbers in the module
docstring of `trd_cds.fhir.strict`):
- fast (default): a typed check of exactly the elements the rules read (read_schema.py):
  about 4 ms for 300 entries with parsing, depth and one-patient checks.
- strict (TRD_STRICT_VALIDATION=true): full fhir.resources R4B model validation of every
  resource type the rules read: 40-120 µs per resource alone, 34 ms for 300 entries with
  parsing, most of the 50 ms cold budget, hence opt-in.
Both run on the cache-miss path only. Figures: bench/bench_service.py on a shared 2-core
machine; rerun it for yours.
Both report the first problem as an OperationOutcome issue whose expression names the entry
and the element, e.g. `Bundle.entry[3].resource.effectivePeriod.start`.
Empty elements never reach the fast check: they are dropped, with a finding, when the input is
read (empty_elements.py); strict mode keeps them, and refuses them here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .outcome import FhirInputError, Issue
from .primitives import CHECKS
from .read_schema import ONE_OF, REQUIRED, RESOURCE_SCHEMAS, Schema

READ_TYPES = frozenset(RESOURCE_SCHEMAS)
FHIR_ID_LENGTH = 64


def _invalid(path: str, message: str) -> FhirInputError:
    return FhirInputError(422, Issue(message, code="structure", expression=path))


class _Bad(Exception):
    """A problem found deep in a resource; the path is assembled only while it propagates,
    so valid data (the common case) never pays for building element paths."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.parts: list[str] = []


# A schema compiled for the walk: element name -> (primitive check, nested plan, what the
# primitive must be, is a list). One entry per element, so that a primitive value costs one
# call of its check rather than a dispatch on the schema's kind first.
_Check = Callable[[Any], bool]
_Plan = dict[str, tuple[_Check | None, "_Plan | None", str, bool]]
_PLANS: dict[int, _Plan] = {}


def _plan(schema: Schema) -> _Plan:
    found = _PLANS.get(id(schema))
    if found is not None:
        return found
    plan: _Plan = {}
    _PLANS[id(schema)] = plan  # before the nested ones: a schema may contain itself
    for name, (kind, many) in schema.items():
        if isinstance(kind, str):
            check, expected = CHECKS[kind]
            plan[name] = (check, None, expected, many)
        else:
            plan[name] = (None, _plan(kind), "", many)
    return plan


def _check_object(plan: _Plan, obj: dict[str, Any]) -> None:
    # Walk the object's own keys (usually far fewer than the schema's) and skip the unread.
    for name, value in obj.items():
        spec = plan.get(name)
        if spec is None:
            continue
        check, nested, expected, many = spec
        try:
            if value is None:
                raise _Bad("must not be null")
            if many:
                if not isinstance(value, list) or not value:
                    raise _Bad("must be a non-empty array")
                for index, item in enumerate(value):
                    try:
                        if nested is None:
                            if not check(item):  # type: ignore[misc]
                                raise _Bad(f"must be {expected}")
                        elif isinstance(item, dict):
                            _check_object(nested, item)
                        else:
                            raise _Bad("must be an object")
                    except _Bad as bad:
                        bad.parts.append(f"[{index}]")
                        raise
            elif isinstance(value, list):
                raise _Bad("must not be an array")
            elif nested is None:
                if not check(value):  # type: ignore[misc]
                    raise _Bad(f"must be {expected}")
            elif isinstance(value, dict):
                _check_object(nested, value)
            else:
                raise _Bad("must be an object")
        except _Bad as bad:
            bad.parts.append(f".{name}")
            raise


_RESOURCE_PLANS: dict[str, _Plan] = {t: _plan(schema) for t, schema in RESOURCE_SCHEMAS.items()}


def check_resource(resource: dict[str, Any], path: str) -> None:
    """Fast typed check of one resource; raises FhirInputError(422) naming the element."""
    resource_type = resource.get("resourceType")
    plan = _RESOURCE_PLANS.get(str(resource_type))
    if plan is None:
        return
    try:
        _check_object(plan, resource)
    except _Bad as bad:
        where = path + "".join(reversed(bad.parts))
        raise _invalid(where, f"{where} {bad.problem}") from None
    for name in REQUIRED.get(str(resource_type), ()):
        if name not in resource:
            raise _invalid(f"{path}.{name}", f"{resource_type}.{name} is required")
    choices = ONE_OF.get(str(resource_type))
    if choices and sum(name in resource for name in choices) != 1:
        names = " or ".join(choices)
        raise _invalid(f"{path}", f"{resource_type} needs exactly one of {names}")


def check_resources(resources: list[tuple[str, dict[str, Any]]], *, strict: bool) -> None:
    """Check each (path, resource) pair; strict mode adds full fhir.resources validation."""
    for path, resource in resources:
        check_resource(resource, path)
    if strict:
        from .strict import strict_check

        for path, resource in resources:
            # FHIR's 64-character id limit, which the default mode only warns about.
            ident = resource.get("id")
            if isinstance(ident, str) and len(ident) > FHIR_ID_LENGTH:
                raise _invalid(f"{path}.id", f"{path}.id is longer than {FHIR_ID_LENGTH} characters")
        for path, resource in resources:
            if resource.get("resourceType") in READ_TYPES:
                strict_check(resource, path)
