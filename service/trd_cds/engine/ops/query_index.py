"""Key lookups instead of scans for queries over define results.

A query such as ``Data."Products" P where P.rxcui in Codes(CC)`` or ``"Records" R where
R.ingredient = I and …`` runs once per calling row, and each run used to test the where
clause on every element of the define. When one conjunct of the where clause is
``Alias.path = E`` or ``Alias.path in E`` with ``E`` independent of the query's own
variables, the rows that can pass are exactly those whose key equals (one of) the value(s)
of ``E``: they are looked up in a hash index of the define's list, built once per
evaluation, and the complete where clause is still evaluated on each of them. So the result
is the same as a scan; only rows that cannot pass are skipped.

Only String and Integer keys are indexed (there Python equality is CQL equality). Rows whose
key is anything else (null, a FHIR primitive, a Decimal, …) are kept as candidates, and
whenever ``E`` gives anything but Strings and Integers the query scans as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..compiler import LibraryCompiler, _reads_any
from ..context import Context
from ..registry import ElmNode
from .structure import property_getter

# (ctx, source rows) -> the rows that may pass the where clause, or None to scan them all.
Pruner = Callable[[Context, list[Any]], list[Any] | None]

# Below this many rows a scan costs less than a lookup.
_MIN_ROWS = 8


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


# Nodes with an effect besides their value, or whose value is not the same on every call.
_IMPURE = frozenset({"Message", "Now", "Today", "TimeOfDay"})


def _simple(v: Any) -> bool:
    t = type(v)
    return t is str or t is int


def compile_pruner(elm: ElmNode, lc: LibraryCompiler, bound: frozenset[str]) -> Pruner | None:
    """A pruner for a single-source query over a define, or None when none applies.

    Call it while the query's scope is open: the key expression is compiled in it."""
    sources = elm.get("source") or []
    where = elm.get("where")
    if len(sources) != 1 or not isinstance(where, dict):
        return None
    if sources[0].get("expression", {}).get("type") != "ExpressionRef":
        return None  # only a define's result is the same list object on every run
    alias = sources[0]["alias"]
    ref = sources[0]["expression"]
    define = (lc.library.included(ref.get("libraryName")).name, ref.get("name"))
    for conjunct in _conjuncts(where):
        kind = conjunct.get("type")
        operands = conjunct.get("operand")
        if kind not in ("Equal", "In") or not isinstance(operands, list) or len(operands) != 2:
            continue
        left, right = operands
        path = _alias_path(left, alias)
        if path is None and kind == "Equal":
            left, right = right, left
            path = _alias_path(left, alias)
        if path is None or not isinstance(right, dict):
            continue
        if _reads_any(right, bound) or _has_node(right, _IMPURE):
            continue
        return _pruner(kind == "In", path, lc.compile(right), (define, path))
    return None


def _pruner(many: bool, path: str, key_expr: Callable[[Context], Any], name: Any) -> Pruner:
    get = property_getter(path)

    def build(items: list[Any]) -> tuple[list[Any], dict[Any, list[int]], list[int]]:
        by_key: dict[Any, list[int]] = {}
        others: list[int] = []
        for i, item in enumerate(items):
            key = get(item)
            if _simple(key):
                by_key.setdefault(key, []).append(i)
            else:
                others.append(i)
        return items, by_key, others

    def prune(ctx: Context, items: list[Any]) -> list[Any] | None:
        if len(items) < _MIN_ROWS:
            return None
        try:
            wanted = key_expr(ctx)
        except Exception:
            return None  # the scan raises it where the where clause would
        if many:
            if type(wanted) is not list:
                return None  # null, or an interval: scan
            keys = [w for w in wanted if w is not None]
            if not all(_simple(k) for k in keys):
                return None
        elif _simple(wanted):
            keys = [wanted]
        else:
            return None
        index = ctx.indexes.get(name)
        if index is None or index[0] is not items:
            index = ctx.indexes[name] = build(items)
        _, by_key, others = index
        if len(keys) == 1 and not others:
            return [items[i] for i in by_key.get(keys[0], ())]
        positions = set(others)
        for k in keys:
            positions.update(by_key.get(k, ()))
        return [items[i] for i in sorted(positions)]

    return prune
