"""Key lookups instead of scans for queries over define results.

A query such as ``Data."Products" P where P.rxcui in Codes(CC)`` or ``"Scores" S where
S.takenOn in window`` runs once per calling row, and each run used to test its where clause
on every element of the define. When conjuncts of the where clause compare a property of the
alias with an expression ``E`` that does not read the query's own variables -

* ``A.path = E`` or ``A.path in E`` (a list): rows looked up by key in a hash index;
* ``A.path in E`` (an interval), ``A.path > E``, ``>=``, ``<``, ``<=``: rows found by
  binary search in the define's rows sorted by that property -

only rows that can pass are visited (the rows both kinds allow, when both apply): the index of
the define's list is built once per evaluation, and the complete where clause is still
evaluated on every candidate, in the source's order. So the result is the same as a scan's;
only rows that cannot pass are skipped.

Hash keys are Strings, Integers and Dates of day precision (there Python equality of the
value or of its components is CQL equality); range keys are Dates of day precision (there
component order is CQL order). Rows whose key is anything else
(null, a FHIR primitive, a Decimal, a partial date, …) always stay candidates, and a value of
``E`` of any other kind prunes nothing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from ..datatypes.temporal import Date
from ..datatypes.values import Interval
from ..runtime.compiler import LibraryCompiler, _reads_any
from ..runtime.context import Context
from ..runtime.registry import ElmNode
from .structure import property_getter

# (ctx, source rows) -> the rows that may pass the where clause, or None to scan them all.
Pruner = Callable[[Context, list[Any]], list[Any] | None]

# Below this many rows a scan costs less than a lookup.
_MIN_ROWS = 8

# `E op A.path` read as `A.path op' E`.
_FLIPPED = {"Equal": "Equal", "Greater": "Less", "GreaterOrEqual": "LessOrEqual",
            "Less": "Greater", "LessOrEqual": "GreaterOrEqual"}
_RANGE_OPS = frozenset({"In", "Greater", "GreaterOrEqual", "Less", "LessOrEqual"})

# Evaluating the compared expression once more must not emit anything. (Now() and Today()
# are fixed for the whole evaluation, so they may appear.)
_IMPURE = frozenset({"Message"})


def _conjuncts(tree: ElmNode) -> list[ElmNode]:
    if tree.get("type") == "And":
        out: list[ElmNode] = []
        for operand in tree.get("operand") or []:
            if isinstance(operand, dict):
                out.extend(_conjuncts(operand))
        return out
    return [tree]


def _alias_path(tree: Any, alias: str) -> str | None:
    if (isinstance(tree, dict) and tree.get("type") == "Property" and "source" not in tree
            and tree.get("scope") == alias and isinstance(tree.get("path"), str)):
        return str(tree["path"])
    return None


def _has_node(tree: Any, kinds: frozenset[str]) -> bool:
    if isinstance(tree, dict):
        return tree.get("type") in kinds or any(
            _has_node(v, kinds) for v in tree.values() if isinstance(v, (dict, list)))
    if isinstance(tree, list):
        return any(_has_node(v, kinds) for v in tree)
    return False


def _hash_key(v: Any) -> Any:
    """The dictionary key of a value whose CQL equality is that key's equality: a String or
    an Integer itself, a Date of day precision its components; None for anything else."""
    t = type(v)
    if t is str or t is int:
        return v
    if t is Date and v._n == 3:
        return v._c
    return None


def _day(v: Any) -> tuple[int, int, int] | None:
    """The components of a Date of day precision (else None)."""
    if type(v) is Date and v._n == 3:
        return v._c  # type: ignore[return-value]
    return None


def _stored(ctx: Context, name: Any, items: list[Any]) -> Any:
    """The index ``name`` of this evaluation, if it was built for this very list."""
    found = ctx.indexes.get(name)
    return found[1] if found is not None and found[0] is items else None


# One usable conjunct: (operator, property path, the other side compiled).
Plan = tuple[str, str, Callable[[Context], Any]]


def compile_pruner(elm: ElmNode, lc: LibraryCompiler, bound: frozenset[str]) -> Pruner | None:
    """A pruner for a single-source query over a define, or None when none applies.

    Call it while the query's scope is open: the compared expressions are compiled in it."""
    sources = elm.get("source") or []
    where = elm.get("where")
    if len(sources) != 1 or not isinstance(where, dict):
        return None
    ref = sources[0].get("expression") or {}
    if ref.get("type") != "ExpressionRef":
        return None  # only a define's result is the same list object on every run
    alias = sources[0]["alias"]
    define = (lc.library.included(ref.get("libraryName")).name, ref.get("name"))
    plans: list[Plan] = []
    for conjunct in _conjuncts(where):
        kind = conjunct.get("type")
        operands = conjunct.get("operand")
        if not isinstance(kind, str) or not isinstance(operands, list) or len(operands) != 2:
            continue
        if conjunct.get("precision"):
            continue  # `in month of`: days outside the range may still be in it
        left, right = operands
        path = _alias_path(left, alias)
        if path is None and kind in _FLIPPED:
            kind = _FLIPPED[kind]
            left, right = right, left
            path = _alias_path(left, alias)
        if path is None or (kind not in _RANGE_OPS and kind != "Equal"):
            continue
        if not isinstance(right, dict) or _reads_any(right, bound) or _has_node(right, _IMPURE):
            continue
        plans.append((kind, path, lc.compile(right)))
    if not plans:
        return None
    return _pruner(plans, define)


def _pruner(plans: list[Plan], define: Any) -> Pruner:
    hash_plans = [p for p in plans if p[0] in ("Equal", "In")]
    # The range index serves one property: one compared with < > <= >= (certainly a range)
    # before one tested with `in`, whose right side may turn out to be a list.
    compared = [p[1] for p in plans if p[0] in _RANGE_OPS and p[0] != "In"]
    range_path = compared[0] if compared else next((p[1] for p in plans if p[0] == "In"), None)
    range_plans = [p for p in plans if p[1] == range_path and p[0] in _RANGE_OPS]
    getters = {path: property_getter(path) for _, path, _ in plans}

    def hash_index(ctx: Context, items: list[Any], path: str,
                   ) -> tuple[dict[Any, list[int]], list[int]]:
        name = (define, path, "hash")
        index = _stored(ctx, name, items)
        if index is None:
            get = getters[path]
            by_key: dict[Any, list[int]] = {}
            others: list[int] = []
            for i, item in enumerate(items):
                key = _hash_key(get(item))
                if key is None:
                    others.append(i)
                else:
                    by_key.setdefault(key, []).append(i)
            index = (by_key, others)
            ctx.indexes[name] = (items, index)
        return index  # type: ignore[no-any-return]

    def range_index(ctx: Context, items: list[Any], path: str,
                    ) -> tuple[list[Any], list[int], list[int]]:
        name = (define, path, "range")
        index = _stored(ctx, name, items)
        if index is None:
            get = getters[path]
            keyed: list[tuple[Any, int]] = []
            others: list[int] = []
            for i, item in enumerate(items):
                day = _day(get(item))
                if day is None:
                    others.append(i)
                else:
                    keyed.append((day, i))
            keyed.sort()
            index = ([k for k, _ in keyed], [i for _, i in keyed], others)
            ctx.indexes[name] = (items, index)
        return index  # type: ignore[no-any-return]

    def by_hash(ctx: Context, items: list[Any]) -> list[int] | None:
        for kind, path, expr in hash_plans:
            wanted = expr(ctx)
            if kind == "Equal":
                key = _hash_key(wanted)
                if key is None:
                    continue
                keys = [key]
            else:
                if type(wanted) is not list:
                    continue  # an interval (see by_range) or null
                keys = [_hash_key(w) for w in wanted if w is not None]
                if None in keys:
                    continue
            by_key, others = hash_index(ctx, items, path)
            if len(keys) == 1 and not others:
                return by_key.get(keys[0], [])
            found = set(others)
            for k in keys:
                found.update(by_key.get(k, ()))
            return sorted(found)
        return None

    def by_range(ctx: Context, items: list[Any]) -> list[int] | None:
        low: Any = None
        high: Any = None
        for kind, _, expr in range_plans:
            value = expr(ctx)
            if kind == "In":
                if type(value) is not Interval:
                    continue
                lo, hi = _day(value.low), _day(value.high)
            elif kind in ("Greater", "GreaterOrEqual"):
                lo, hi = _day(value), None
            else:
                lo, hi = None, _day(value)
            # Bounds are kept inclusive: the where clause decides about the rows on them.
            if lo is not None and (low is None or lo > low):
                low = lo
            if hi is not None and (high is None or hi < high):
                high = hi
        if low is None and high is None:
            return None
        keys, positions, others = range_index(ctx, items, range_path)  # type: ignore[arg-type]
        start = 0 if low is None else bisect_left(keys, low)
        stop = len(keys) if high is None else bisect_right(keys, high)
        if start >= stop:
            return list(others)
        found = positions[start:stop]
        if others:
            found = found + others
        found.sort()
        return found

    def prune(ctx: Context, items: list[Any]) -> list[Any] | None:
        if len(items) < _MIN_ROWS:
            return None
        try:
            found = by_hash(ctx, items) if hash_plans else None
            if range_plans and (found is None or len(found) >= _MIN_ROWS):
                # Both kinds apply (`O.drug in E and O.start > T.start`): keep the rows that
                # both allow, in the source's order.
                in_range = by_range(ctx, items)
                if found is None:
                    found = in_range
                elif in_range is not None:
                    allowed = set(in_range)
                    found = [i for i in found if i in allowed]
        except Exception:
            return None  # the scan raises it where the where clause would
        return None if found is None else [items[i] for i in found]

    return prune
