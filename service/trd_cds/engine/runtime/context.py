"""The state of one evaluation.

Everything that changes while evaluating lives here, so compiled libraries stay immutable and
one engine serves any number of evaluations (and threads) at once. Operator modules may rely on
``now``, ``parameters`` and ``messages``; the rest belongs to the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..datatypes.temporal import DateTime

if TYPE_CHECKING:
    from ..data import DataProvider
    from ..terminology import TerminologyProvider

# Marks a define whose value is not computed yet in this evaluation.
MISSING: Any = object()


@dataclass(slots=True, eq=False)
class Context:
    # The evaluation timestamp: Now(), Today() and TimeOfDay() derive from it and it stays
    # the same for the whole evaluation, as the spec requires.
    now: DateTime
    # Caller-supplied parameter values: plain names for the evaluated library, and
    # 'Library.Name' for parameters of included libraries.
    parameters: dict[str, Any] = field(default_factory=dict)
    # Messages emitted by the Message operator below severity Error: (severity, code, text).
    messages: list[tuple[str, str, str]] = field(default_factory=list)
    data: DataProvider | None = None
    terminology: TerminologyProvider | None = None
    # The library being evaluated (its parameters are the unqualified ones above).
    library: str = ""
    # Define results of this evaluation, by the index the compiler gave each define.
    cache: list[Any] = field(default_factory=list)
    # Variables (query aliases, lets, function operands), by compiler-assigned slot.
    slots: list[Any] = field(default_factory=list)
    # Hash indexes of define results that queries filter by key, built on first use (see
    # ops.query_index); each entry keeps the list it indexes, so identity can be checked.
    indexes: dict[Any, Any] = field(default_factory=dict)
    # Results of one-operand functions by (function, operand object): (operand, result).
    calls: dict[Any, Any] = field(default_factory=dict)
