"""OperationOutcome: how every error leaves the service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue. `code` is from the FHIR issue-type value set."""

    diagnostics: str
    code: str = "invalid"
    severity: str = "error"
    expression: str | None = None

    def to_json(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


def operation_outcome(*issues: Issue) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [issue.to_json() for issue in issues]}


class FhirInputError(Exception):
    """Client input the service refuses; carries the HTTP status it maps to."""

    def __init__(self, status: int, *issues: Issue) -> None:
        super().__init__(issues[0].diagnostics if issues else "invalid input")
        self.status = status
        self.issues = issues

    @classmethod
    def of(
        cls, status: int, diagnostics: str, *, code: str = "invalid", expression: str | None = None
    ) -> FhirInputError:
        return cls(status, Issue(diagnostics, code=code, expression=expression))

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(*self.issues)
