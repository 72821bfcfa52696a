"""Compiles ELM expression trees into nested Python closures, once per library.

``LibraryCompiler.compile(node)`` looks the node type up in :data:`registry.NODES` and lets the
operator family build the closure; evaluation never dispatches on node types. Variables (query
aliases, lets, function operands) are resolved at compile time to slots in
``Context.slots``; define results are cached per evaluation in ``Context.cache``.

Errors: bad or unsupported ELM raises :class:`ElmError` while compiling, naming library,
define and locator. Faults while evaluating are caught in the closures of defines, functions,
queries, properties and retrieves (``try`` costs nothing until something is raised) and
re-raised as :class:`CqlEvaluationError` with the same place information.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any, NoReturn

from ..errors import CqlError, CqlEvaluationError, ElmError
from .compiled import CompiledLibrary, DefEntry, FunctionEntry, ParameterEntry
from .context import MISSING, Context
from .registry import NODES, ElmNode, Evaluator


def fault(
    exc: BaseException,
    locator: str | None = None,
    *,
    library: str | None = None,
    define: str | None = None,
) -> NoReturn:
    """Re-raise any exception raised while evaluating as a typed, located engine error."""
    if isinstance(exc, CqlError):
        raise exc.located(library=library, define=define, locator=locator)
    raise CqlEvaluationError(
        f"{type(exc).__name__}: {exc}", library=library, define=define, locator=locator
    ) from exc


@cache
def register_all_operators() -> int:
    """Import every module of ``engine.ops``: each registers the node types it compiles."""
    from .. import ops

    for module in pkgutil.iter_modules(ops.__path__):
        importlib.import_module(f"{ops.__name__}.{module.name}")
    return len(NODES)


def _null(ctx: Context) -> Any:
    return None


class LibraryCompiler:
    """Compiles the ELM of one library; implements :class:`registry.Compiler`."""

    def __init__(self, library: CompiledLibrary) -> None:
        register_all_operators()
        self.library = library
        self.library_name = library.name
        self.fhir_model = library.fhir_model
        self.define_name: str | None = None
        self._scopes: list[dict[str, int]] = []
        # Types of the nodes being compiled, outermost first (see parent_type).
        self._compiling: list[str] = []
        # Queries being compiled, innermost last: (names the query binds, its memo slots).
        self._query_frames: list[tuple[frozenset[str], list[int]]] = []

    # -- the registry.Compiler protocol ---------------------------------------------------
    def compile(self, node: ElmNode) -> Evaluator:
        if not isinstance(node, dict):
            raise self.error(
                f"malformed ELM: expected an expression, got {type(node).__name__}", None
            )
        kind = node.get("type")
        compile_fn = NODES.get(kind) if isinstance(kind, str) else None
        if compile_fn is None:
            raise self.error(f"unsupported ELM node type {kind!r}", node)
        self._compiling.append(kind)  # type: ignore[arg-type]
        try:
            if self._query_frames and kind in _HOISTABLE:
                return self._hoisted(node, compile_fn)
            return compile_fn(node, self)
        except CqlError as e:
            # The innermost node that knows its place wins; outer calls fill only the gaps.
            e.located(library=self.library_name, define=self.define_name,
                      locator=node.get("locator"))
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise self.error(f"malformed {kind} node: {type(e).__name__}: {e}", node) from e
        finally:
            self._compiling.pop()

    def parent_type(self) -> str | None:
        """The type of the node whose child is being compiled (for a Literal: its parent)."""
        return self._compiling[-2] if len(self._compiling) > 1 else None

    def compile_optional(self, node: ElmNode | None) -> Evaluator:
        return _null if node is None else self.compile(node)

    def error(self, message: str, node: ElmNode | None) -> ElmError:
        return ElmError(
            message,
            library=self.library_name,
            define=self.define_name,
            locator=node.get("locator") if isinstance(node, dict) else None,
        )

    # -- loop-invariant code in queries --------------------------------------------------
    def push_query(self, bound: frozenset[str]) -> list[int]:
        """Enter the clauses of a query binding ``bound`` (aliases, lets, …). Returns the
        query's memo slots, which it must reset to MISSING at the start of every run."""
        memos: list[int] = []
        self._query_frames.append((bound, memos))
        return memos

    def pop_query(self) -> None:
        self._query_frames.pop()

    def _hoisted(self, node: ElmNode, compile_fn: Any) -> Evaluator:
        """A function call or subquery in a query clause that does not read the query's own
        variables gives the same value for every row: evaluate it on first use in each run
        of the query and reuse it (e.g. ``Lookup L where L.code in Codes(X)``)."""
        bound, memos = self._query_frames[-1]
        if _reads_any(node, bound):
            return compile_fn(node, self)  # type: ignore[no-any-return]
        # The subtree is compiled outside the frame: nested nodes need no memo of their own.
        frames = self._query_frames
        self._query_frames = []
        try:
            inner: Evaluator = compile_fn(node, self)
        finally:
            self._query_frames = frames
        slot = self.library.manager.new_slot()
        memos.append(slot)

        def memo(ctx: Context) -> Any:
            value = ctx.slots[slot]
            if value is MISSING:
                value = ctx.slots[slot] = inner(ctx)
            return value
        return memo

    # -- variables ------------------------------------------------------------------------
    def push_scope(self) -> dict[str, int]:
        scope: dict[str, int] = {}
        self._scopes.append(scope)
        return scope

    def pop_scope(self) -> None:
        self._scopes.pop()

    def declare(self, name: str) -> int:
        """A fresh slot for a variable of the innermost scope."""
        slot = self.library.manager.new_slot()
        self._scopes[-1][name] = slot
        return slot

    def lookup(self, name: str, node: ElmNode | None = None) -> int:
        for scope in reversed(self._scopes):
            slot = scope.get(name)
            if slot is not None:
                return slot
        raise self.error(f"unknown identifier {name}", node)

    def find(self, name: str) -> int | None:
        for scope in reversed(self._scopes):
            slot = scope.get(name)
            if slot is not None:
                return slot
        return None

    # -- defines, functions, parameters ---------------------------------------------------
    def define(self, entry: DefEntry) -> Evaluator:
        """The cached evaluator of a define (compiled on first use)."""
        if entry.evaluator is not None:
            return entry.evaluator
        if entry.compiling:
            # A reference back to a define still being compiled: bind late.
            def late(ctx: Context) -> Any:
                assert entry.evaluator is not None
                return entry.evaluator(ctx)

            return late
        entry.compiling = True
        sub = LibraryCompiler(self.library)
        sub.define_name = entry.name
        body = sub.compile(entry.elm["expression"]) if "expression" in entry.elm else _null
        entry.evaluator = _cached(
            entry.index, body, self.library_name, entry.name, entry.elm.get("locator")
        )
        entry.compiling = False
        return entry.evaluator

    def function_body(self, fn: FunctionEntry) -> FunctionEntry:
        """Compile a function's body once; its operands get slots."""
        if fn.body is not None or fn.compiling:
            return fn
        if fn.elm.get("external"):
            raise self.error(f"external function {fn.name} is not supported", fn.elm)
        fn.compiling = True
        sub = LibraryCompiler(self.library)
        sub.define_name = fn.name
        sub.push_scope()
        fn.slots = [sub.declare(name) for name in fn.operand_names]
        fn.body = sub.compile(fn.elm["expression"]) if "expression" in fn.elm else _null
        fn.compiling = False
        return fn

    def parameter(self, entry: ParameterEntry) -> Evaluator:
        if entry.evaluator is not None:
            return entry.evaluator
        sub = LibraryCompiler(self.library)
        sub.define_name = entry.name
        default = sub.compile_optional(entry.elm.get("default"))
        name = entry.name
        qualified = f"{self.library_name}.{name}"
        library = self.library_name
        index = entry.index

        def value(ctx: Context) -> Any:
            cached = ctx.cache[index]
            if cached is not MISSING:
                return cached
            given = ctx.parameters
            if ctx.library == library and name in given:
                result = given[name]
            elif qualified in given:
                result = given[qualified]
            else:
                try:
                    result = default(ctx)
                except Exception as e:
                    fault(e, entry.elm.get("locator"), library=library, define=name)
            ctx.cache[index] = result
            return result

        entry.evaluator = value
        return value


# Node types worth memoising when loop-invariant (cheap nodes would cost more than they save).
_HOISTABLE = frozenset({"FunctionRef", "Query"})
_VARIABLE_NODES = frozenset({"AliasRef", "QueryLetRef", "IdentifierRef"})
_SKIP_KEYS = frozenset({"annotation", "resultTypeSpecifier", "signature", "locator",
                        "resultTypeName"})


def _reads_any(tree: Any, names: frozenset[str]) -> bool:
    """Whether an ELM subtree may read one of the variables ``names`` (conservative: a
    subtree that re-binds the same name counts as reading it)."""
    if isinstance(tree, dict):
        kind = tree.get("type")
        if kind in _VARIABLE_NODES and tree.get("name") in names:
            return True
        if kind == "IdentifierRef":
            return True
        if tree.get("scope") in names:
            return True
        return any(_reads_any(v, names) for k, v in tree.items()
                   if k not in _SKIP_KEYS and isinstance(v, (dict, list)))
    if isinstance(tree, list):
        return any(_reads_any(v, names) for v in tree)
    return False


def _cached(index: int, body: Evaluator, library: str, name: str, locator: str | None) -> Evaluator:
    def cached(ctx: Context) -> Any:
        value = ctx.cache[index]
        if value is MISSING:
            try:
                value = body(ctx)
            except Exception as e:
                fault(e, locator, library=library, define=name)
            ctx.cache[index] = value
        return value

    return cached
