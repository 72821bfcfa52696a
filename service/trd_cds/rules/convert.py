"""CQL values from the engine -> JSON-ready Python values."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from trd_cds.engine.datatypes.temporal import Date, DateTime
from trd_cds.engine.datatypes.values import Uncertainty


def to_json(value: Any) -> Any:
    """Dates as ISO strings, Decimals as int or float, Tuples as dicts, lists as lists, an
    Uncertainty as ``{"low", "high"}``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Date | DateTime):
        return value.iso()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, Uncertainty):
        # The rules read partial dates as whole days, so none should reach the assessment;
        # should one, it is stated as the range it is, never as one of its ends.
        return {"low": to_json(value.low), "high": to_json(value.high)}
    raise TypeError(f"no JSON form for a CQL value of type {type(value).__name__}")
