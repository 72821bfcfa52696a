"""Data-quality findings: what was wrong with the data, and what the service did about it.

One shape for every layer: the FHIR boundary reports the input problems it tolerated (an empty
element dropped, say), the rules report what they could not use; the assessment carries them
all as ``dataQuality``. A finding names the resource by type and id only (never another
identifier) and the element by a FHIRPath-like path from the resource type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trd_cds.assessment import Finding

from .outcome import Issue, operation_outcome

__all__ = ["Finding", "describe", "finding", "resource_label", "sort_key", "warnings_outcome"]


# issue codes
EMPTY_ELEMENT = "empty-element"
# effect codes
DROPPED = "dropped"

# How each (issue, effect) reads in an OperationOutcome, with the element's path in front.
_DESCRIPTIONS: dict[tuple[str, str], str] = {
    (EMPTY_ELEMENT, DROPPED): "is empty (or holds only empty elements) and was dropped",
}


def resource_label(resource: Mapping[str, Any]) -> str:
    """``Type/id``, or ``Type`` when the resource has no usable id."""
    kind = str(resource.get("resourceType"))
    ident = resource.get("id")
    return f"{kind}/{ident}" if type(ident) is str and ident else kind


def finding(resource: Mapping[str, Any], path: str, issue: str, effect: str) -> Finding:
    """A finding about ``resource``; ``path`` is relative to it (".dosage[0].doseAndRate")."""
    return Finding(
        resource=resource_label(resource),
        path=f"{resource.get('resourceType')}{path}",
        issue=issue,
        effect=effect,
    )


def sort_key(item: Finding) -> tuple[str, str, str, str]:
    """A stable order of findings, whatever order the data came in."""
    return (item["resource"], item["path"], item["issue"], item["effect"])


def describe(item: Finding) -> str:
    """What the finding says, for people: the element's path, then the problem."""
    text = _DESCRIPTIONS.get((item["issue"], item["effect"]), f"{item['issue']} ({item['effect']})")
    return f"{item['path']} {text}"


def warnings_outcome(findings: Iterable[Finding], where: Iterable[str]) -> dict[str, Any] | None:
    """The findings as an OperationOutcome of warnings, each with ``where`` it is in the
    request (``Bundle.entry[2].resource.dosage[0].doseAndRate``); None when there are none."""
    issues = [
        Issue(describe(item), code="structure", severity="warning", expression=expression)
        for item, expression in zip(findings, where, strict=True)
    ]
    return operation_outcome(*issues) if issues else None
