"""The CQL Query: sources, let, with/without, where, return, aggregate and sort.

Aliases, lets and the aggregate accumulator are slots in ``Context.slots`` assigned at compile
time. A query whose (single) source is not a list runs over that one value and returns a
single value (null when filtered out), as the spec requires.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from functools import cmp_to_key
from typing import Any, cast

from .. import values
from ..compiler import LibraryCompiler, fault
from ..context import Context
from ..registry import Compiler, ElmNode, Evaluator, node
from .list import list_distinct
from .refs import IMPLICIT_ITEM
from .structure import property_getter

Filter = Callable[[Context], bool]


def _compare_nulls_first(a: Any, b: Any) -> int:
    if a is None:
        return 0 if b is None else -1
    if b is None:
        return 1
    c = values.compare(a, b)
    if c is not None:
        return c
    # Temporal values equal as far as both go: the less precise sorts first.
    pa, pb = getattr(a, "precision", None), getattr(b, "precision", None)
    if pa is None or pb is None:
        return 0
    return int(pa > pb) - int(pa < pb)


def _compare_keys(a: tuple[Any, Any], b: tuple[Any, Any]) -> int:
    return _compare_nulls_first(a[0], b[0])


_BY_FIRST = cmp_to_key(_compare_keys)


def _relationship(rel: ElmNode, lc: LibraryCompiler) -> Filter:
    """``with``/``without … such that``: is there (not) a related element?"""
    source = lc.compile(rel["expression"])
    lc.push_scope()
    slot = lc.declare(rel["alias"])
    such_that = lc.compile(rel["suchThat"]) if rel.get("suchThat") else (lambda ctx: True)
    lc.pop_scope()
    keep_if_found: bool = rel["type"] == "With"
    if rel["type"] not in ("With", "Without"):
        raise lc.error(f"unknown relationship {rel['type']}", rel)

    def related(ctx: Context) -> bool:
        items = source(ctx)
        if items is None:
            items = []
        elif type(items) is not list:
            items = [items]
        s = ctx.slots
        for item in items:
            s[slot] = item
            if such_that(ctx) is True:
                return keep_if_found
        return not keep_if_found
    return related


def _sorter(sort: ElmNode, lc: LibraryCompiler, alias_slot: int | None,
            ) -> Callable[[Context, list[Any]], list[Any]]:
    keys: list[tuple[Callable[[Context, Any], Any], bool]] = []
    lc.push_scope()
    item_slot = lc.declare(IMPLICIT_ITEM)
    for by in sort.get("by", []):
        descending = by.get("direction", "asc") in ("desc", "descending")
        kind = by.get("type")
        if kind == "ByDirection":
            keys.append((lambda ctx, x: x, descending))
        elif kind == "ByColumn":
            get = property_getter(by["path"])
            keys.append((lambda ctx, x, get=get: get(x), descending))  # type: ignore[misc]
        elif kind == "ByExpression":
            expr = lc.compile(by["expression"])

            def by_expression(ctx: Context, x: Any, expr: Evaluator = expr) -> Any:
                ctx.slots[item_slot] = x
                if alias_slot is not None:
                    ctx.slots[alias_slot] = x
                return expr(ctx)
            keys.append((by_expression, descending))
        else:
            raise lc.error(f"unknown sort item {kind}", by)
    lc.pop_scope()

    def sort_rows(ctx: Context, rows: list[Any]) -> list[Any]:
        # Stable sorts from the last key to the first give the multi-key order.
        out = rows
        for key, descending in reversed(keys):
            decorated: list[tuple[Any, Any]] = [(key(ctx, x), x) for x in out]
            decorated.sort(key=_BY_FIRST, reverse=descending)
            out = [x for _, x in decorated]
        return out
    return sort_rows


@node("Query")
def compile_query(elm: ElmNode, c: Compiler) -> Evaluator:
    lc = cast(LibraryCompiler, c)
    locator = elm.get("locator")
    sources = elm.get("source") or []
    if not sources:
        raise lc.error("query without source", elm)
    source_evals = [lc.compile(s["expression"]) for s in sources]
    lc.push_scope()
    try:
        alias_slots = [lc.declare(s["alias"]) for s in sources]
        lets: list[tuple[int, Evaluator]] = []
        for let in elm.get("let") or []:
            expr = lc.compile(let["expression"])
            lets.append((lc.declare(let["identifier"]), expr))
        relationships = [_relationship(r, lc) for r in elm.get("relationship") or []]
        where = lc.compile(elm["where"]) if elm.get("where") else None
        ret = elm.get("return")
        ret_expr = lc.compile(ret["expression"]) if ret else None
        distinct = bool(ret.get("distinct", True)) if ret else False
        aggregate = elm.get("aggregate")
        agg: tuple[int, Evaluator, Evaluator, bool] | None = None
        if aggregate:
            starting = lc.compile_optional(aggregate.get("starting"))
            acc_slot = lc.declare(aggregate["identifier"])
            agg = (acc_slot, lc.compile(aggregate["expression"]), starting,
                   bool(aggregate.get("distinct", False)))
        single_alias = alias_slots[0] if len(sources) == 1 else None
        sorter = (_sorter(elm["sort"], lc, single_alias if ret is None else None)
                  if elm.get("sort") else None)
    finally:
        lc.pop_scope()
    aliases = [s["alias"] for s in sources]

    def row_passes(ctx: Context) -> bool:
        s = ctx.slots
        for slot, expr in lets:
            s[slot] = expr(ctx)
        for related in relationships:
            if not related(ctx):
                return False
        return where is None or where(ctx) is True

    def finish(ctx: Context, rows: list[Any]) -> Any:
        """Rows are the elements that passed (single source) or their alias tuples."""
        if agg is not None:
            acc_slot, expr, starting, agg_distinct = agg
            return _aggregate(ctx, rows, acc_slot, expr, starting, agg_distinct)
        if distinct:
            rows = list_distinct(rows)
        if sorter is not None:
            rows = sorter(ctx, rows)
        return rows

    if len(sources) == 1:
        (source,) = source_evals
        (slot,) = alias_slots
        plain = not lets and not relationships

        def single(ctx: Context) -> Any:
            try:
                items = source(ctx)
                singleton = type(items) is not list
                if singleton:
                    if items is None:
                        return None
                    items = [items]
                s = ctx.slots
                out: list[Any] = []
                append = out.append
                if agg is not None:
                    # The aggregate sees each passing source element through its alias.
                    for item in items:
                        s[slot] = item
                        if (plain and (where is None or where(ctx) is True)) or (
                                not plain and row_passes(ctx)):
                            append(item)
                    return _aggregate(ctx, out, agg[0], agg[1], agg[2], agg[3], slot)
                for item in items:
                    s[slot] = item
                    if plain:
                        if where is not None and where(ctx) is not True:
                            continue
                    elif not row_passes(ctx):
                        continue
                    append(item if ret_expr is None else ret_expr(ctx))
                if singleton:
                    return out[0] if out else None
                return finish(ctx, out)
            except Exception as e:
                fault(e, locator)
        return single

    def multi(ctx: Context) -> Any:
        try:
            lists: list[Sequence[Any]] = []
            for source in source_evals:
                items = source(ctx)
                lists.append([] if items is None else items if type(items) is list
                             else [items])
            s = ctx.slots
            out: list[Any] = []
            for combo in itertools.product(*lists):
                for slot, item in zip(alias_slots, combo, strict=True):
                    s[slot] = item
                if not row_passes(ctx):
                    continue
                if agg is not None or ret_expr is None:
                    out.append(values.CqlTuple(dict(zip(aliases, combo, strict=True))))
                else:
                    out.append(ret_expr(ctx))
            if agg is not None:
                return _aggregate(ctx, out, agg[0], agg[1], agg[2], agg[3], None,
                                  alias_slots, aliases)
            return finish(ctx, out)
        except Exception as e:
            fault(e, locator)
    return multi


def _aggregate(ctx: Context, rows: list[Any], acc_slot: int, expr: Evaluator,
               starting: Evaluator, distinct: bool, alias_slot: int | None = None,
               alias_slots: list[int] | None = None, aliases: list[str] | None = None) -> Any:
    if distinct:
        rows = list_distinct(rows)
    s = ctx.slots
    acc = starting(ctx)
    for row in rows:
        if alias_slot is not None:
            s[alias_slot] = row
        elif alias_slots is not None and aliases is not None:
            for slot, alias in zip(alias_slots, aliases, strict=True):
                s[slot] = row[alias]
        s[acc_slot] = acc
        acc = expr(ctx)
    return acc


