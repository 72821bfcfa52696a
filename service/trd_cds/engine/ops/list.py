"""CQL list operators (CQL 1.5 reference, "List Operators").

Membership uses equality semantics (``values.equal``) with the exception the spec makes for
lists: two nulls are the same element, a null and a value are different, and an uncertain
comparison (an imprecise date against a precise one) does not count as a match.

The set operators and the inclusion tests are plain functions here (``list_union`` ...); the
node types they share with intervals (``In``, ``Contains``, ``Union`` ...) are registered by
the interval module, which dispatches list operands to these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import cmp_to_key
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..datatypes import values
from ..datatypes.temporal import Date, DateTime, Time
from ..errors import CqlEvaluationError, ElmError
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, operator
from .refs import IMPLICIT_ITEM
from .structure import property_getter

if TYPE_CHECKING:
    from ..runtime.context import Context

__all__ = [
    "hashable_elements",
    "list_contains",
    "list_distinct",
    "list_except",
    "list_in",
    "list_included_in",
    "list_includes",
    "list_intersect",
    "list_proper_contains",
    "list_proper_in",
    "list_proper_included_in",
    "list_proper_includes",
    "list_union",
    "sort_values",
]

# Types whose Python equality and hash agree with CQL equality when a list holds only one of
# them: membership then costs a hash look-up instead of a scan with values.equal. (Codes and
# concepts are CQL-equal only when every element is equal, which is their dataclass eq.)
_HASHABLE_TYPES = frozenset({int, str, bool, Decimal, values.Code, values.Concept})


def hashable_elements(*lists: Sequence[Any]) -> bool:
    """True when every non-null element of the lists has the same type, one of the above."""
    kind: type | None = None
    for lst in lists:
        for x in lst:
            if x is None:
                continue
            t = type(x)
            if kind is None:
                if t not in _HASHABLE_TYPES:
                    return False
                kind = t
            elif t is not kind:
                return False
    return True


def _same(a: Any, b: Any) -> bool:
    """List-element equality: nulls are equal to each other, uncertain counts as different."""
    if a is None or b is None:
        return a is None and b is None
    return values.equal(a, b) is True


def _member(x: Any, lst: Iterable[Any]) -> bool:
    return any(_same(x, e) for e in lst)


def _resource_key(x: Any) -> Any:
    """A key that equal FHIR JSON objects share: their resourceType and id (equality of plain
    dicts is structural, so equal dicts have equal keys)."""
    kind, ident = x.get("resourceType"), x.get("id")
    if (kind is None or type(kind) is str) and (ident is None or type(ident) is str):
        return kind, ident
    return ()  # unusual values: one shared bucket, still compared exactly


def _day_key(x: Any) -> Any:
    """Equal dates, or date-times with the same offset, fall on the same calendar day."""
    return x.year, x.month, x.day


def _hour_key(x: Any) -> Any:
    return x.hour


Key = Callable[[Any], Any]


class _Index:
    """Elements collected for membership tests by CQL list equality.

    A strategy is chosen once per operation: a set when every element is of one primitive
    type (see :func:`hashable_elements`); buckets by a key that equal elements share, each
    bucket scanned with ``values.equal`` (FHIR JSON objects by resourceType and id, dates by
    day, times by hour); or a plain scan for anything else.
    """

    __slots__ = ("_buckets", "_items", "_key", "_set")

    def __init__(self, strategy: Key | str) -> None:
        self._set: set[Any] | None = set() if strategy == "hash" else None
        self._key = strategy if callable(strategy) else None
        self._buckets: dict[Any, list[Any]] = {}
        self._items: list[Any] = []

    def add(self, x: Any) -> None:
        if self._set is not None:
            self._set.add(x)
        elif self._key is not None and x is not None:
            self._buckets.setdefault(self._key(x), []).append(x)
        else:
            self._items.append(x)

    def __contains__(self, x: Any) -> bool:
        if self._set is not None:
            return x in self._set
        if self._key is not None and x is not None:
            return _member(x, self._buckets.get(self._key(x), ()))
        return _member(x, self._items)


def _strategy(*lists: Sequence[Any]) -> Key | str:
    if hashable_elements(*lists):
        return "hash"
    kinds = {type(x) for lst in lists for x in lst if x is not None}
    # FHIR resources and elements are dicts (the provider's FhirElement is a dict subclass).
    if all(issubclass(k, dict) for k in kinds):
        return _resource_key
    if len(kinds) != 1:
        return "scan"
    (kind,) = kinds
    if kind is Date:
        return _day_key
    if kind is Time:
        return _hour_key
    # Date-times are compared in one offset, so days agree only when the offsets do.
    if kind is DateTime and len({x.offset for lst in lists for x in lst if x is not None}) == 1:
        return _day_key
    return "scan"


def _index(items: Sequence[Any], strategy: Key | str) -> _Index:
    index = _Index(strategy)
    for x in items:
        index.add(x)
    return index


def _distinct(lst: Sequence[Any], strategy: Key | str) -> list[Any]:
    if strategy == "hash":
        return list(dict.fromkeys(lst))
    seen = _Index(strategy)
    out: list[Any] = []
    for x in lst:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def list_distinct(lst: Sequence[Any]) -> list[Any]:
    """The elements of ``lst`` without duplicates, first occurrences in order; nulls collapse."""
    return _distinct(lst, _strategy(lst))


def list_contains(lst: Sequence[Any] | None, x: Any) -> bool:
    """``lst contains x``: false for a null list; a null element matches a null ``x``."""
    if lst is None:
        return False
    if x is None:
        return any(e is None for e in lst)
    return any(e is not None and values.equal(x, e) is True for e in lst)


def list_in(x: Any, lst: Sequence[Any] | None) -> bool:
    """``x in lst``, the converse of :func:`list_contains`."""
    return list_contains(lst, x)


def list_proper_contains(lst: Sequence[Any] | None, x: Any) -> bool | None:
    """``lst properly includes x``: ``x`` is in the list and is not its only element.

    Null when that cannot be decided because some element's equality with ``x`` is unknown
    (``{'a', null} properly includes 'a'``: the null might be another 'a').
    """
    if lst is None or len(lst) < 2:
        return False
    if x is None:
        return any(e is None for e in lst) and any(e is not None for e in lst)
    found = other = unknown = False
    for e in lst:
        eq = None if e is None else values.equal(e, x)
        if eq is None:
            unknown = True
        elif eq:
            found = True
        else:
            other = True
    if found and other:
        return True
    return None if unknown else False


def list_proper_in(x: Any, lst: Sequence[Any] | None) -> bool | None:
    """``x properly included in lst``, the converse of :func:`list_proper_contains`."""
    return list_proper_contains(lst, x)


def list_union(a: Sequence[Any] | None, b: Sequence[Any] | None) -> list[Any]:
    """``a union b``: distinct elements of both; a null list counts as empty."""
    both = [*(a or ()), *(b or ())]
    return _distinct(both, _strategy(both))


def list_intersect(a: Sequence[Any] | None, b: Sequence[Any] | None) -> list[Any] | None:
    """``a intersect b``: distinct elements of ``a`` that are also in ``b``; null if either is."""
    if a is None or b is None:
        return None
    strategy = _strategy(a, b)
    keep = _index(b, strategy)
    return [x for x in _distinct(a, strategy) if x in keep]


def list_except(a: Sequence[Any] | None, b: Sequence[Any] | None) -> list[Any] | None:
    """``a except b``: distinct elements of ``a`` not in ``b``; a null ``b`` counts as empty."""
    if a is None:
        return None
    strategy = _strategy(a, b or ())
    drop = _index(b or (), strategy)
    return [x for x in _distinct(a, strategy) if x not in drop]


def list_includes(a: Sequence[Any] | None, b: Sequence[Any] | None) -> bool | None:
    """``a includes b``: every element of ``b`` is in ``a``; null if either list is null."""
    if a is None or b is None:
        return None
    if not b:
        return True
    strategy = _strategy(a, b)
    index = _index(a, strategy)
    return all(x in index for x in b)


def list_included_in(a: Sequence[Any] | None, b: Sequence[Any] | None) -> bool | None:
    """``a included in b``, the converse of :func:`list_includes`."""
    return list_includes(b, a)


def list_proper_includes(a: Sequence[Any] | None, b: Sequence[Any] | None) -> bool | None:
    """``a properly includes b``: ``a`` includes ``b`` and has more elements."""
    included = list_includes(a, b)
    if included is None or a is None or b is None:
        return None
    return included and len(a) > len(b)


def list_proper_included_in(a: Sequence[Any] | None, b: Sequence[Any] | None) -> bool | None:
    """``a properly included in b``, the converse of :func:`list_proper_includes`."""
    return list_proper_includes(b, a)


# --- ordering -----------------------------------------------------------------------------


def compare_nulls_first(a: Any, b: Any) -> int:
    """The sort order of lists and queries: nulls first, then CQL ordering."""
    if a is None:
        return 0 if b is None else -1
    if b is None:
        return 1
    c = values.compare(a, b)
    if c is not None:
        return c
    if type(a) is values.Uncertainty or type(b) is values.Uncertainty:
        # Overlapping ranges: a total order by bounds keeps the sort consistent.
        return values.uncertainty_order(a, b)
    # Date/time values that agree as far as both go: the less precise one sorts first, as
    # the reference engines and the HL7 tests do (@2012-10-05 before @2012-10-05T10).
    pa, pb = getattr(a, "precision", None), getattr(b, "precision", None)
    if pa is None or pb is None:
        return 0
    return int(pa > pb) - int(pa < pb)


_NULLS_FIRST = cmp_to_key(compare_nulls_first)


def sort_values(items: Iterable[Any], descending: bool = False) -> list[Any]:
    """Sort by CQL comparison; nulls first ascending, last descending (spec, 'Sort')."""
    return sorted(items, key=_NULLS_FIRST, reverse=descending)


# --- node types ---------------------------------------------------------------------------


def _locator(elm: ElmNode) -> str | None:
    loc = elm.get("locator")
    return loc if isinstance(loc, str) else None


def _child(elm: ElmNode, key: str, compiler: Compiler) -> Evaluator:
    child = elm.get(key)
    if not isinstance(child, dict):
        raise ElmError(f"{elm.get('type')}: missing '{key}'", locator=_locator(elm))
    return compiler.compile(child)


@operator("Exists", propagate_null=False)
def exists(lst: Sequence[Any] | None) -> bool:
    return lst is not None and any(x is not None for x in lst)


@operator("Distinct")
def distinct(lst: Sequence[Any]) -> list[Any]:
    return list_distinct(lst)


@operator("Flatten")
def flatten(lst: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for x in lst:
        if isinstance(x, list):
            out.extend(x)
        elif x is not None:
            # Not a list (FHIR data can mix): kept as a one-element list would be.
            out.append(x)
        # A null inner list counts as empty, as list operators treat null lists.
    return out


@operator("Times")
def times(a: Sequence[Any], b: Sequence[Any]) -> list[Any]:
    """Cartesian product of two lists of tuples; each result tuple has both tuples' elements."""
    return [values.CqlTuple({**x, **y}) for x in a for y in b]


@node("SingletonFrom")
def compile_singleton_from(elm: ElmNode, compiler: Compiler) -> Evaluator:
    (operand,) = [compiler.compile(o) for o in _operands(elm, 1)]
    locator = _locator(elm)

    def singleton_from(ctx: Context) -> Any:
        lst = operand(ctx)
        if not lst:
            return None
        if len(lst) > 1:
            raise CqlEvaluationError(
                f"singleton from: the list has {len(lst)} elements, expected at most one",
                locator=locator,
            )
        return lst[0]

    return singleton_from


def _operands(elm: ElmNode, count: int) -> list[ElmNode]:
    operand = elm.get("operand")
    ops = operand if isinstance(operand, list) else [operand] if isinstance(operand, dict) else []
    if len(ops) != count:
        raise ElmError(f"{elm.get('type')}: expected {count} operand(s)", locator=_locator(elm))
    return ops


def _ordered_source(elm: ElmNode, compiler: Compiler) -> Evaluator:
    """The ``source`` of First/Last, sorted by the optional ``orderBy`` property."""
    source = _child(elm, "source", compiler)
    order_by = elm.get("orderBy")
    if not order_by:
        return source
    getter = property_getter(str(order_by))

    def ordered(ctx: Context) -> Any:
        lst = source(ctx)
        if lst is None:
            return None
        return _sort_by(ctx, list(lst), lambda _, x: getter(x), False)

    return ordered


@node("First")
def compile_first(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source = _ordered_source(elm, compiler)

    def first(ctx: Context) -> Any:
        lst = source(ctx)
        return lst[0] if lst else None

    return first


@node("Last")
def compile_last(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source = _ordered_source(elm, compiler)

    def last(ctx: Context) -> Any:
        lst = source(ctx)
        return lst[-1] if lst else None

    return last


@node("Slice")
def compile_slice(elm: ElmNode, compiler: Compiler) -> Evaluator:
    """Slice, with the ELM 1.5 rules (Skip, Take and Tail are translated to it): a null start
    is 0, a null end is the length, and a negative index or an end before the start gives an
    empty list, so ``Skip(l, -1)`` and ``Take(l, -1)`` are empty as their CQL definitions say.
    (CQL 2.0's negative indexes counting from the end cannot be written in CQL 1.5.)"""
    source = _child(elm, "source", compiler)
    start = compiler.compile_optional(elm.get("startIndex"))
    end = compiler.compile_optional(elm.get("endIndex"))

    def slice_(ctx: Context) -> Any:
        lst = source(ctx)
        if lst is None:
            return None
        lo = start(ctx)
        hi = end(ctx)
        if lo is None:
            lo = 0
        if hi is None:
            hi = len(lst)
        if lo < 0 or hi < lo:
            return []
        return list(lst[lo:hi])

    return slice_


@node("IndexOf")
def compile_index_of(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source = _child(elm, "source", compiler)
    element = _child(elm, "element", compiler)

    def index_of(ctx: Context) -> int | None:
        lst = source(ctx)
        if lst is None:
            return None
        x = element(ctx)
        if x is None:
            return None
        for i, e in enumerate(lst):
            if _same(x, e):
                return i
        return -1

    return index_of


SortKey = Callable[["Context", Any], Any]


def _sort_key(item: ElmNode, elm: ElmNode, compiler: Compiler) -> tuple[SortKey | None, bool]:
    """(key of an element, or None to sort by the element itself; descending) of a ``by``
    item."""
    kind = item.get("type")
    direction = item.get("direction", "asc")
    if direction not in ("asc", "ascending", "desc", "descending"):
        raise ElmError(f"Sort: unknown direction {direction!r}", locator=_locator(elm))
    descending = direction in ("desc", "descending")
    if kind == "ByDirection":
        return None, descending
    if kind == "ByColumn":
        path = item.get("path")
        if not isinstance(path, str):
            raise ElmError("Sort: ByColumn without a path", locator=_locator(elm))
        getter = property_getter(path)
        return (lambda ctx, x: getter(x)), descending
    if kind == "ByExpression":
        # The expression sees the element as $this: identifiers name its properties.
        slot, expression = _compile_in_scope(item, compiler, "expression", IMPLICIT_ITEM)

        def by_expression(ctx: Context, x: Any) -> Any:
            ctx.slots[slot] = x
            return expression(ctx)

        return by_expression, descending
    raise ElmError(f"Sort: unknown sort item {kind}", locator=_locator(elm))


def _sort_by(ctx: Context, items: list[Any], key: SortKey, descending: bool) -> list[Any]:
    pairs = [(key(ctx, x), x) for x in items]
    pairs.sort(key=lambda pair: _NULLS_FIRST(pair[0]), reverse=descending)
    return [x for _, x in pairs]


@node("Sort")
def compile_sort(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source = _child(elm, "source", compiler)
    keys = [_sort_key(item, elm, compiler) for item in elm.get("by") or []]
    # Stable sorts applied from the last key to the first give a multi-key ordering.
    passes = list(reversed(keys)) or [(None, False)]

    def sort(ctx: Context) -> Any:
        lst = source(ctx)
        if lst is None:
            return None
        out = list(lst)
        for key, descending in passes:
            out = sort_values(out, descending) if key is None else _sort_by(
                ctx, out, key, descending)
        return out

    return sort


# --- iteration with a scope: Filter, ForEach, Repeat, Current -----------------------------


class _ScopedCompiler(Protocol):
    """The compiler's variable scopes (beyond :class:`registry.Compiler`): every variable is
    given a slot in ``Context.slots`` at compile time."""

    def push_scope(self) -> dict[str, int]: ...

    def pop_scope(self) -> None: ...

    def declare(self, name: str) -> int: ...

    def lookup(self, name: str, node: ElmNode | None = None) -> int: ...


# The name every iteration scope is also known by, so that ``Current`` without a scope finds
# the innermost iteration.
_CURRENT = "$current"


def _scoped(compiler: Compiler, elm: ElmNode) -> _ScopedCompiler:
    if not all(hasattr(compiler, m) for m in ("push_scope", "pop_scope", "declare", "lookup")):
        raise ElmError(
            f"{elm.get('type')}: the compiler has no variable scopes", locator=_locator(elm)
        )
    return cast(_ScopedCompiler, compiler)


def _compile_in_scope(elm: ElmNode, compiler: Compiler, key: str,
                      *aliases: str) -> tuple[int, Evaluator]:
    """Compile child ``key`` with the iterated element bound to the node's scope (and to
    ``aliases``); returns the element's slot and the child's evaluator."""
    scoped = _scoped(compiler, elm)
    child = elm.get(key)
    if not isinstance(child, dict):
        raise ElmError(f"{elm.get('type')}: missing '{key}'", locator=_locator(elm))
    names = scoped.push_scope()
    try:
        scope = elm.get("scope")
        slot = scoped.declare(_CURRENT)
        if isinstance(scope, str) and scope:
            names[scope] = slot
        for alias in aliases:
            names[alias] = slot
        body = compiler.compile(child)
    finally:
        scoped.pop_scope()
    return slot, body


@node("Filter")
def compile_filter(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source = _child(elm, "source", compiler)
    slot, condition = _compile_in_scope(elm, compiler, "condition")

    def filter_(ctx: Context) -> Any:
        lst = source(ctx)
        if lst is None:
            return None
        slots = ctx.slots
        out = []
        for x in lst:
            slots[slot] = x
            if condition(ctx) is True:
                out.append(x)
        return out

    return filter_


@node("ForEach")
def compile_for_each(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source = _child(elm, "source", compiler)
    slot, element = _compile_in_scope(elm, compiler, "element")

    def for_each(ctx: Context) -> Any:
        lst = source(ctx)
        if lst is None:
            return None
        slots = ctx.slots
        out = []
        for x in lst:
            slots[slot] = x
            out.append(element(ctx))
        return out

    return for_each


@node("Repeat")
def compile_repeat(elm: ElmNode, compiler: Compiler) -> Evaluator:
    """FHIRPath ``repeat``: apply ``element`` to the source, then to what it produced, until
    nothing new (by equality) comes out; the result holds the produced elements only."""
    source = _child(elm, "source", compiler)
    slot, element = _compile_in_scope(elm, compiler, "element")

    def repeat(ctx: Context) -> Any:
        lst = source(ctx)
        if lst is None:
            return None
        slots = ctx.slots
        out: list[Any] = []
        frontier = list(lst)
        while frontier:
            produced: list[Any] = []
            for x in frontier:
                slots[slot] = x
                y = element(ctx)
                for v in y if isinstance(y, list) else (y,):
                    if v is not None and not _member(v, out):
                        out.append(v)
                        produced.append(v)
            frontier = produced
        return out

    return repeat


@node("Current")
def compile_current(elm: ElmNode, compiler: Compiler) -> Evaluator:
    scope = elm.get("scope")
    slot = _scoped(compiler, elm).lookup(
        scope if isinstance(scope, str) and scope else _CURRENT, elm
    )
    return lambda ctx: ctx.slots[slot]
