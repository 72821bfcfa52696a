"""The data-provider interface: where a CQL ``Retrieve`` gets its data.

The split of work between the engine and a provider:

* The provider selects by **data type** (and, being built for one patient, by patient) and
  returns model objects the engine can navigate (for FHIR: :class:`fhir.provider.FhirElement`).
* The code and date filters of the retrieve are passed as **hints**. A provider may use them to
  fetch less (a FHIR server search, an index), but does not have to: the engine always applies
  the code filter (through the terminology provider) and the date filter itself to whatever the
  provider returns, so a provider that ignores the hints is still correct.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .datatypes.values import Code, Interval


class DataProvider(Protocol):
    def retrieve(
        self,
        data_type: str,
        *,
        code_path: str | None = None,
        codes: Sequence[Code] | None = None,
        valueset: str | None = None,
        date_path: str | None = None,
        date_range: Interval | None = None,
        template_id: str | None = None,
    ) -> Sequence[Any]:
        """Objects of ``data_type`` (a model-local name such as 'MedicationStatement')."""
        ...


class NoData:
    """A provider without data: every retrieve is empty (for libraries that read none)."""

    def retrieve(
        self,
        data_type: str,
        *,
        code_path: str | None = None,
        codes: Sequence[Code] | None = None,
        valueset: str | None = None,
        date_path: str | None = None,
        date_range: Interval | None = None,
        template_id: str | None = None,
    ) -> Sequence[Any]:
        return ()
