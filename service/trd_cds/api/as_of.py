"""The evaluation date of a request (`asOf`), and the range the service answers for."""

from __future__ import annotations

from datetime import date

from trd_cds.fhir.outcome import FhirInputError

# The evaluation dates the service answers for. The rules look back years from asOf (the
# episode lookback, trial windows) and ahead weeks; far from both ends of the calendar the
# date arithmetic of the rules always has room, and no clinical question lies outside.
AS_OF_EARLIEST = date(1900, 1, 1)
AS_OF_LATEST = date(2999, 12, 31)


def parse_as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        if len(value) != 10:
            raise ValueError(value)
        as_of = date.fromisoformat(value)
    except ValueError:
        raise FhirInputError.of(400, "asOf must be a date, YYYY-MM-DD", expression="asOf") from None
    if not AS_OF_EARLIEST <= as_of <= AS_OF_LATEST:
        raise FhirInputError.of(
            400,
            f"asOf must lie between {AS_OF_EARLIEST.isoformat()} and {AS_OF_LATEST.isoformat()}",
            code="value",
            expression="asOf",
        )
    return as_of
