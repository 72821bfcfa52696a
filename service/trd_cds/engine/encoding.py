"""Canonical JSON form of CQL values, and the comparison of two result sets in that form.

The form is the one both our engine and the reference JS engine (cql-execution) write, so a
library can be run on both over the same bundles and compared value by value
(``../shared/cql-toolchain/ENCODING.md``). Values are read through their public attributes only
(``values.py`` / ``temporal.py`` / the FHIR provider's ``fhir_type`` and ``value``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from .datatypes.temporal import Date, DateTime, Time
from .datatypes.values import Code, Concept, CqlTuple, Interval, Quantity, Ratio, Uncertainty

JsonValue = Any
_PLACES = Decimal("0.00000001")
_RELATIVE_TOLERANCE = 1e-8


def encode(value: Any, *, default_offset: Decimal | None = None) -> JsonValue:
    """The canonical JSON-able form of a CQL value.

    ``default_offset`` (hours) is written for DateTimes that have an hour but no offset of
    their own: such values take the evaluation request's offset, which the caller knows.
    """
    return _Encoder(default_offset).encode(value)


def encode_error(error: BaseException) -> JsonValue:
    """The form of a define whose evaluation raised ``error``."""
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return {"type": "Error", "message": str(text).splitlines()[0] if text else ""}


class _Encoder:
    __slots__ = ("default_offset",)

    def __init__(self, default_offset: Decimal | None) -> None:
        self.default_offset = default_offset

    def encode(self, v: Any) -> JsonValue:
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, Decimal):
            return decimal_number(v)
        if isinstance(v, float):
            # Not a CQL value, but numbers from FHIR JSON may surface as floats.
            return decimal_number(Decimal(repr(v))) if math.isfinite(v) else None
        if isinstance(v, DateTime):
            return {"type": "DateTime", "value": format_datetime(v, self.default_offset)}
        if isinstance(v, Date):
            return {"type": "Date", "value": format_date(v)}
        if isinstance(v, Time):
            return {"type": "Time", "value": format_time(v)}
        if isinstance(v, Quantity):
            return self.quantity(v)
        if isinstance(v, Ratio):
            return {
                "type": "Ratio",
                "numerator": self.quantity(v.numerator),
                "denominator": self.quantity(v.denominator),
            }
        if isinstance(v, Code):
            return self.code(v)
        if isinstance(v, Concept):
            out: dict[str, Any] = {"type": "Concept", "codes": [self.code(c) for c in v.codes]}
            if v.display is not None:
                out["display"] = v.display
            return out
        if isinstance(v, Interval):
            return {
                "type": "Interval",
                "low": self.encode(v.low),
                "high": self.encode(v.high),
                "lowClosed": bool(v.low_closed),
                "highClosed": bool(v.high_closed),
            }
        if isinstance(v, Uncertainty):
            low, high = self.encode(v.low), self.encode(v.high)
            if low == high and type(low) is type(high):
                return low
            return {"type": "Uncertainty", "low": low, "high": high}
        if isinstance(v, CqlTuple):
            return {k: self.encode(v[k]) for k in sorted(v)}
        if isinstance(v, (list, tuple)):
            return [self.encode(x) for x in v]
        fhir_type = getattr(v, "fhir_type", None)
        if isinstance(v, Mapping):
            if "resourceType" in v:
                return {
                    "type": "Resource",
                    "resourceType": v.get("resourceType"),
                    "id": v.get("id"),
                }
            return {
                "type": "FHIR",
                "fhirType": fhir_type if isinstance(fhir_type, str) else "Element",
                "json": _sorted_json(v),
            }
        if isinstance(fhir_type, str) and hasattr(v, "value"):
            # A FHIR primitive: its System value, null when it carries only extensions.
            return self.encode(v.value)
        valueset = _valueset(v)
        if valueset is not None:
            return valueset
        return {"type": "Unsupported", "jsType": type(v).__name__}

    def quantity(self, q: Quantity | None) -> JsonValue:
        if q is None:
            return None
        value = None if q.value is None else self.encode(q.value)
        return {"type": "Quantity", "value": value, "unit": q.unit or "1"}

    @staticmethod
    def code(c: Code) -> JsonValue:
        out: dict[str, Any] = {"type": "Code"}
        for name in ("code", "system", "version", "display"):
            member = getattr(c, name)
            if member is not None:
                out[name] = member
        return out


def _valueset(v: Any) -> JsonValue | None:
    """Value-set references are objects named like ValueSet with an id/url (and version)."""
    if "valueset" not in type(v).__name__.lower():
        return None
    ident = getattr(v, "id", None) or getattr(v, "url", None)
    if not isinstance(ident, str):
        return None
    return {"type": "ValueSet", "id": ident, "version": getattr(v, "version", None)}


def _sorted_json(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _sorted_json(v[k]) for k in sorted(v, key=str)}
    if isinstance(v, (list, tuple)):
        return [_sorted_json(x) for x in v]
    if isinstance(v, Decimal):
        return decimal_number(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return encode(v)


def decimal_number(d: Decimal) -> int | float:
    """A Decimal rounded to 8 places, as a JSON number."""
    try:
        rounded = d.quantize(_PLACES, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:  # beyond the context precision: keep the value as is
        rounded = d
    return float(rounded)


def format_date(d: Date) -> str:
    out = f"{d.year:04d}"
    if d.month is not None:
        out += f"-{d.month:02d}"
        if d.day is not None:
            out += f"-{d.day:02d}"
    return out


def format_offset(hours: Decimal) -> str:
    total = int((abs(Decimal(hours)) * 60).to_integral_value())
    sign = "-" if hours < 0 else "+"
    return f"{sign}{total // 60:02d}:{total % 60:02d}"


def format_datetime(dt: DateTime, default_offset: Decimal | None = None) -> str:
    out = f"{dt.year:04d}"
    if dt.month is None:
        return out
    out += f"-{dt.month:02d}"
    if dt.day is None:
        return out
    out += f"-{dt.day:02d}"
    if dt.hour is None:
        return out
    out += "T" + _clock(dt.hour, dt.minute, dt.second, dt.millisecond)
    offset = dt.offset if dt.offset is not None else default_offset
    if offset is not None:
        out += format_offset(offset)
    return out


def _clock(hour: int, minute: int | None, second: int | None, millisecond: int | None) -> str:
    """hh[:mm[:ss[.fff]]], as far as the precision goes (DateTime and Time alike)."""
    out = f"{hour:02d}"
    if minute is not None:
        out += f":{minute:02d}"
        if second is not None:
            out += f":{second:02d}"
            if millisecond is not None:
                out += f".{millisecond:03d}"
    return out


def format_time(t: Time) -> str:
    return _clock(t.hour, t.minute, t.second, t.millisecond)


# --- comparing two encoded result sets ------------------------------------------------------


def compare_results(ours: Any, theirs: Any, unordered: bool = False) -> list[str]:
    """Differences between two encoded values or results files, each as 'path: detail'.

    Numbers agree within 1e-8 relative, ``true`` never equals ``1``, two ``Error`` values
    agree whatever their messages, and lists are ordered unless ``unordered``.
    """
    out: list[str] = []
    _diff(ours, theirs, "$", unordered, out)
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _numbers_agree(a: float, b: float) -> bool:
    if a == b:
        return True
    return abs(a - b) <= _RELATIVE_TOLERANCE * max(abs(a), abs(b))


def _is_error(v: Any) -> bool:
    return isinstance(v, dict) and v.get("type") == "Error"


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 120 else text[:117] + "..."


def _diff(a: Any, b: Any, path: str, unordered: bool, out: list[str]) -> None:
    if _is_error(a) and _is_error(b):
        return
    if _is_error(a) != _is_error(b):
        out.append(f"{path}: ours {_show(a)}, theirs {_show(b)}")
        return
    if _is_number(a) and _is_number(b):
        if not _numbers_agree(float(a), float(b)):
            out.append(f"{path}: ours {a!r}, theirs {b!r}")
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            sub = f"{path}.{k}"
            if k not in a:
                out.append(f"{sub}: missing in ours (theirs {_show(b[k])})")
            elif k not in b:
                out.append(f"{sub}: missing in theirs (ours {_show(a[k])})")
            else:
                _diff(a[k], b[k], sub, unordered, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if unordered:
            if not _same_multiset(a, b, unordered):
                out.append(f"{path}: lists differ (unordered): ours {_show(a)}, theirs {_show(b)}")
            return
        if len(a) != len(b):
            out.append(f"{path}: ours has {len(a)} items, theirs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _diff(x, y, f"{path}[{i}]", unordered, out)
        return
    if type(a) is not type(b) or a != b:
        out.append(f"{path}: ours {_show(a)}, theirs {_show(b)}")


def _agree(a: Any, b: Any, unordered: bool) -> bool:
    scratch: list[str] = []
    _diff(a, b, "", unordered, scratch)
    return not scratch


def _same_multiset(a: list[Any], b: list[Any], unordered: bool) -> bool:
    if len(a) != len(b):
        return False
    remaining = list(b)
    for x in a:
        for i, y in enumerate(remaining):
            if _agree(x, y, unordered):
                del remaining[i]
                break
        else:
            return False
    return True
