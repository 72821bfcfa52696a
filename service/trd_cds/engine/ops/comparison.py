"""CQL comparison operators (CQL 1.5 Appendix B, 'Comparison Operators').

Values of simple types (Integer, Long, Decimal, String, Boolean) compare with Python's own
operators; everything else goes through :mod:`values` (quantities with units, temporal
values at mixed precision, tuples, lists, intervals), which answers null when the result is
uncertain.
"""

from __future__ import annotations

import operator as py
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..datatypes import values as v
from ..runtime.registry import ElmNode, operator_factory
from .operand_types import signature_types

Fn = Callable[..., Any]

# Types whose CQL equality and ordering are Python's (Decimal compares by value: 1.0 = 1.00).
_EQUAL_NATIVE = frozenset({"Integer", "Long", "Decimal", "String", "Boolean"})
_ORDER_NATIVE = frozenset({"Integer", "Long", "Decimal", "String"})
# For these, CQL equivalence is also Python equality, and None == None is True as ~ requires.
_EQUIVALENT_NATIVE = frozenset({"Integer", "Long", "Boolean"})


# Python types whose == is CQL equality. An Integer-typed operand may still hold an
# Uncertainty (a duration between imprecise dates), so the fast paths check the values.
_PLAIN = frozenset({int, str, Decimal, bool})


def _same_native(elm: ElmNode, native: frozenset[str]) -> bool:
    sig = signature_types(elm)
    return len(sig) == 2 and sig[0] == sig[1] and sig[0] in native


def _native_equal(a: Any, b: Any) -> bool | None:
    if type(a) is type(b) and type(a) in _PLAIN:
        return bool(a == b)
    return v.equal(a, b)


def _native_equivalent(a: Any, b: Any) -> bool:
    if (type(a) is type(b) and type(a) in _PLAIN) or a is None or b is None:
        return bool(a == b)
    return v.equivalent(a, b)


@operator_factory("Equal")
def _equal(elm: ElmNode) -> Fn:
    return _native_equal if _same_native(elm, _EQUAL_NATIVE) else v.equal


@operator_factory("NotEqual")
def _not_equal(elm: ElmNode) -> Fn:
    equal = _native_equal if _same_native(elm, _EQUAL_NATIVE) else v.equal

    def fn(a: Any, b: Any) -> bool | None:
        result = equal(a, b)
        return None if result is None else not result

    return fn


@operator_factory("Equivalent", propagate_null=False)
def _equivalent(elm: ElmNode) -> Fn:
    return _native_equivalent if _same_native(elm, _EQUIVALENT_NATIVE) else v.equivalent


def _ordered(native: Fn, test: Callable[[int], bool]) -> Callable[[ElmNode], Fn]:
    def general(a: Any, b: Any) -> bool | None:
        if type(a) is v.Uncertainty or type(b) is v.Uncertainty:
            # CQL 'Uncertainty': decided when the comparison holds (or fails) for every value
            # in the ranges, which its two extreme pairings settle; otherwise null.
            lo_a, hi_a = (a.low, a.high) if type(a) is v.Uncertainty else (a, a)
            lo_b, hi_b = (b.low, b.high) if type(b) is v.Uncertainty else (b, b)
            c1, c2 = v.compare(lo_a, hi_b), v.compare(hi_a, lo_b)
            if c1 is None or c2 is None:
                return None
            t1, t2 = test(c1), test(c2)
            return t1 if t1 == t2 else None
        c = v.compare(a, b)
        return None if c is None else test(c)

    def fast(a: Any, b: Any) -> bool | None:
        try:
            return bool(native(a, b))
        except TypeError:  # an Uncertainty among Integers
            return general(a, b)

    def factory(elm: ElmNode) -> Fn:
        return fast if _same_native(elm, _ORDER_NATIVE) else general

    return factory


operator_factory("Less")(_ordered(py.lt, lambda c: c < 0))
operator_factory("LessOrEqual")(_ordered(py.le, lambda c: c <= 0))
operator_factory("Greater")(_ordered(py.gt, lambda c: c > 0))
operator_factory("GreaterOrEqual")(_ordered(py.ge, lambda c: c >= 0))
