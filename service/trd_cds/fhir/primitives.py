"""FHIR R4 primitive checks: the regexes of the specification plus calendar validity."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"

DATE_RE = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?")
DATETIME_RE = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?")
INSTANT_RE = re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}")
CODE_RE = re.compile(r"[^\s]+( [^\s]+)*")
ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# A resource's own id only names it (in references and findings): EHRs that exceed FHIR's 64
# characters (Epic) are accepted, with a warning (bundle.py); the characters still count.
RESOURCE_ID_RE = re.compile(r"[A-Za-z0-9\-.]+")
URI_RE = re.compile(r"\S+")


def _calendar_ok(text: str) -> bool:
    """The regexes accept 31 February; a real calendar does not."""
    if len(text) < 10:
        return True
    try:
        date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31


CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "string": (_is_str, "a non-empty string"),
    "uri": (lambda v: isinstance(v, str) and URI_RE.fullmatch(v) is not None, "a URI"),
    "code": (lambda v: isinstance(v, str) and CODE_RE.fullmatch(v) is not None, "a code"),
    "id": (lambda v: isinstance(v, str) and ID_RE.fullmatch(v) is not None, "an id"),
    "resource-id": (
        lambda v: isinstance(v, str) and RESOURCE_ID_RE.fullmatch(v) is not None,
        "an id (letters, digits, '-' and '.')",
    ),
    "boolean": (lambda v: isinstance(v, bool), "a boolean"),
    "integer": (_is_int, "an integer"),
    "unsignedInt": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "positiveInt": (lambda v: _is_int(v) and v > 0, "a positive integer"),
    "decimal": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v == v,
        "a number",
    ),
    "date": (
        lambda v: isinstance(v, str) and DATE_RE.fullmatch(v) is not None and _calendar_ok(v),
        "a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)",
    ),
    "dateTime": (
        lambda v: isinstance(v, str) and DATETIME_RE.fullmatch(v) is not None and _calendar_ok(v),
        "a FHIR dateTime (a time needs a timezone)",
    ),
    "instant": (
        lambda v: isinstance(v, str) and INSTANT_RE.fullmatch(v) is not None and _calendar_ok(v),
        "a FHIR instant",
    ),
}
