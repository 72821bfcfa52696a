"""The state of one evaluation.

The compiler owns the full design; the attributes below are the ones operator modules may
rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .temporal import DateTime


@dataclass(slots=True, eq=False)
class Context:
    # The evaluation timestamp: Now(), Today() and TimeOfDay() derive from it and it stays
    # the same for the whole evaluation, as the spec requires.
    now: DateTime
    parameters: dict[str, Any] = field(default_factory=dict)
    # Messages emitted by the Message operator below severity Error: (severity, code, text).
    messages: list[tuple[str, str, str]] = field(default_factory=list)
