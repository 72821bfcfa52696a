"""The CQL Query: sources, let, with/without, where, return, aggregate and sort.

Aliases, lets and the aggregate accumulator are slots in ``Context.slots`` assigned at compile
time. A query whose (single) source is not a list runs over that one value and returns a
single value (null when filtered out), as the spec requires.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cmp_to_key
from typing import Any, cast

from ..datatypes import values
from ..datatypes.temporal import Date, DateTime
from ..datatypes.values import Code, Concept, CqlTuple, Interval
from ..fhir.provider import FhirElement, FhirPrimitive
from ..runtime.compiler import LibraryCompiler, fault
from ..runtime.context import MISSING, Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node
from .list import compare_nulls_first, hashable_elements, list_distinct
from .query_index import compile_pruner
from .refs import IMPLICIT_ITEM
from .structure import property_getter

Filter = Callable[[Context], bool]


_OTHER = object()
_TIMED = object()


def _fingerprint(v: Any, nested: bool = False) -> Any:
    """A hashable key that CQL-equal values always share (the converse need not hold), so
    distinct only compares rows within a bucket. Numbers go by value (Python's int and
    Decimal hash alike when equal; an Uncertainty equals a number only as a single point).
    A Date equals only a Date or a DateTime without a time of the same components; a
    DateTime with a time may equal one written in another offset, so those share one key,
    as other values do. Equal intervals have equal first points (values.interval_start).
    Inside a tuple or list, a tuple or list is keyed by its kind and size only (except the
    tuples of a row that is a list, keyed like rows): rows differ in their own elements far
    more often than deep inside them, and a coarser key stays correct while it costs less."""
    t = type(v)
    if t is str:
        return v
    if t is CqlTuple:
        if nested:
            return "tuple"
        return frozenset((k, _fingerprint(x, True)) for k, x in v._elements.items()
                         if x is not None)
    if t is FhirElement or t is dict:
        ident = v.get("id")
        return ("dict", ident if type(ident) is str else None)
    if t is FhirPrimitive:
        return _fingerprint(v.value, nested)
    if t is bool:
        return ("bool", v)
    if t is int or t is Decimal:
        return ("number", v)
    if t is Date:
        return ("date", v._c)
    if t is DateTime:
        return ("date", v._c[:3]) if v._n <= 3 else _TIMED
    if t is Interval:
        try:
            start = values.interval_start(v)
        except Exception:
            return _OTHER  # no first point: equal to nothing but an identical interval
        return ("interval", None if start is None else _fingerprint(start, True))
    if t is values.Uncertainty:
        return ("number", v.low) if v.low is not None and v.low == v.high else _OTHER
    if t is list:
        if nested:
            return ("list", len(v))
        # A row that is a list of tuples (one list of findings per source row, say) is keyed
        # by its tuples' own keys: keyed by size only, such rows would all share one bucket.
        return tuple(None if x is None else _fingerprint(x, type(x) is not CqlTuple)
                     for x in v)
    if t is Code:
        return ("Code", v.code, v.system, v.version, v.display)
    if t is Concept:
        return ("Concept", tuple(_fingerprint(c, True) for c in v.codes), v.display)
    return _OTHER


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a is b or values.equal(a, b) is True


def distinct_rows(rows: list[Any]) -> list[Any]:
    """CQL distinct (nulls equal each other; uncertain equality counts as different), first
    occurrences in order."""
    if len(rows) < 2:
        return rows
    if hashable_elements(rows):
        return list_distinct(rows)
    buckets: dict[Any, list[Any]] = {}
    out: list[Any] = []
    for row in rows:
        bucket = buckets.setdefault(None if row is None else _fingerprint(row), [])
        if not any(_same(row, kept) for kept in bucket):
            bucket.append(row)
            out.append(row)
    return out


def _compare_keys(a: tuple[Any, Any], b: tuple[Any, Any]) -> int:
    return compare_nulls_first(a[0], b[0])


_BY_FIRST = cmp_to_key(_compare_keys)


_VARIABLE_REFS = frozenset({"AliasRef", "QueryLetRef", "OperandRef", "IdentifierRef"})


def _uses_variables(tree: Any) -> bool:
    """Whether an ELM subtree reads a query alias, let, operand or identifier."""
    if isinstance(tree, dict):
        if tree.get("type") in _VARIABLE_REFS or (tree.get("type") == "Property"
                                                  and "scope" in tree):
            return True
        return any(_uses_variables(v) for k, v in tree.items()
                   if k not in ("annotation", "resultTypeSpecifier", "signature"))
    if isinstance(tree, list):
        return any(_uses_variables(v) for v in tree)
    return False


def _as_list(items: Any) -> list[Any]:
    if items is None:
        return []
    return items if type(items) is list else [items]


# A relationship is prepared once per run of its query: (ctx) -> row filter.
Prepare = Callable[[Context], Filter]


def _relationship(rel: ElmNode, lc: LibraryCompiler) -> Prepare:
    """``with``/``without … such that``: is there (not) a related element?"""
    if rel["type"] not in ("With", "Without"):
        raise lc.error(f"unknown relationship {rel['type']}", rel)
    source = lc.compile(rel["expression"])
    lc.push_scope()
    slot = lc.declare(rel["alias"])
    such_that = lc.compile(rel["suchThat"]) if rel.get("suchThat") else (lambda ctx: True)
    lc.pop_scope()
    keep_if_found: bool = rel["type"] == "With"

    def exists_in(ctx: Context, items: list[Any]) -> bool:
        s = ctx.slots
        for item in items:
            s[slot] = item
            if such_that(ctx) is True:
                return keep_if_found
        return not keep_if_found

    if _uses_variables(rel["expression"]):
        # The related source depends on the row: evaluate it for each row.
        def correlated(ctx: Context) -> Filter:
            return lambda ctx: exists_in(ctx, _as_list(source(ctx)))
        return correlated

    def uncorrelated(ctx: Context) -> Filter:
        # Evaluated once per run of the query, on first use (not at all for an empty source).
        items: list[list[Any]] = []

        def keep(ctx: Context) -> bool:
            if not items:
                items.append(_as_list(source(ctx)))
            return exists_in(ctx, items[0])
        return keep
    return uncorrelated


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


def _bound_names(elm: ElmNode) -> frozenset[str]:
    """Every variable a query binds for its clauses."""
    names = {s["alias"] for s in elm.get("source") or []}
    names.update(let["identifier"] for let in elm.get("let") or [])
    names.update(rel["alias"] for rel in elm.get("relationship") or [])
    if elm.get("aggregate"):
        names.add(elm["aggregate"]["identifier"])
    names.add(IMPLICIT_ITEM)
    return frozenset(names)


@node("Query")
def compile_query(elm: ElmNode, c: Compiler) -> Evaluator:
    lc = cast(LibraryCompiler, c)
    locator = elm.get("locator")
    sources = elm.get("source") or []
    if not sources:
        raise lc.error("query without source", elm)
    source_evals = [lc.compile(s["expression"]) for s in sources]
    lc.push_scope()
    bound = _bound_names(elm)
    memos = lc.push_query(bound)
    try:
        alias_slots = [lc.declare(s["alias"]) for s in sources]
        lets: list[tuple[int, Evaluator]] = []
        for let in elm.get("let") or []:
            expr = lc.compile(let["expression"])
            lets.append((lc.declare(let["identifier"]), expr))
        relationships = [_relationship(r, lc) for r in elm.get("relationship") or []]
        where = lc.compile(elm["where"]) if elm.get("where") else None
        prune = compile_pruner(elm, lc, bound)
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
        lc.pop_query()
        lc.pop_scope()
    aliases = [s["alias"] for s in sources]

    def row_passes(ctx: Context, related: list[Filter]) -> bool:
        s = ctx.slots
        for slot, expr in lets:
            s[slot] = expr(ctx)
        for keep in related:
            if not keep(ctx):
                return False
        return where is None or where(ctx) is True

    def finish(ctx: Context, rows: list[Any]) -> Any:
        """Distinct and sort of the returned values."""
        if distinct:
            rows = distinct_rows(rows)
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
                for memo in memos:
                    s[memo] = MISSING
                if prune is not None and not singleton:
                    candidates = prune(ctx, items)
                    if candidates is not None:
                        items = candidates
                out: list[Any] = []
                append = out.append
                related = [prepare(ctx) for prepare in relationships]
                if agg is not None:
                    # The aggregate sees each passing source element through its alias.
                    for item in items:
                        s[slot] = item
                        if (plain and (where is None or where(ctx) is True)) or (
                                not plain and row_passes(ctx, related)):
                            append(item)
                    return _aggregate(ctx, out, agg[0], agg[1], agg[2], agg[3], lets, slot)
                for item in items:
                    s[slot] = item
                    if plain:
                        if where is not None and where(ctx) is not True:
                            continue
                    elif not row_passes(ctx, related):
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
            for memo in memos:
                s[memo] = MISSING
            out: list[Any] = []
            related = [prepare(ctx) for prepare in relationships]
            for combo in itertools.product(*lists):
                for slot, item in zip(alias_slots, combo, strict=True):
                    s[slot] = item
                if not row_passes(ctx, related):
                    continue
                if agg is not None or ret_expr is None:
                    out.append(values.CqlTuple(dict(zip(aliases, combo, strict=True))))
                else:
                    out.append(ret_expr(ctx))
            if agg is not None:
                return _aggregate(ctx, out, agg[0], agg[1], agg[2], agg[3], lets, None,
                                  alias_slots, aliases)
            return finish(ctx, out)
        except Exception as e:
            fault(e, locator)
    return multi


def _aggregate(ctx: Context, rows: list[Any], acc_slot: int, expr: Evaluator,
               starting: Evaluator, distinct: bool, lets: list[tuple[int, Evaluator]],
               alias_slot: int | None = None, alias_slots: list[int] | None = None,
               aliases: list[str] | None = None) -> Any:
    if distinct:
        rows = distinct_rows(rows)
    s = ctx.slots
    acc = starting(ctx)
    for row in rows:
        if alias_slot is not None:
            s[alias_slot] = row
        elif alias_slots is not None and aliases is not None:
            for slot, alias in zip(alias_slots, aliases, strict=True):
                s[slot] = row[alias]
        # The row's lets again: the expression may read them.
        for slot, let in lets:
            s[slot] = let(ctx)
        s[acc_slot] = acc
        acc = expr(ctx)
    return acc


