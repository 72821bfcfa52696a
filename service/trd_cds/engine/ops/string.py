"""CQL string operators (CQL 1.5 Appendix B, 'String Operators'), plus the list forms of
``Length`` and ``Indexer`` that share their ELM node types.

Regular expressions: CQL recommends PCRE and its engines use Java's; Python's ``re`` accepts
the same common syntax once Java's named groups ``(?<name>…)`` are rewritten, and
replacement strings use Java's ``$1`` / ``${name}`` / ``\\$`` form, translated here.
Compiled patterns and replacement templates are cached, so each is parsed once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from ..runtime.context import Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, operator, operator_factory
from .operand_types import first_operand_type

Fn = Callable[..., Any]

_JAVA_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z])")


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    # Single-line mode: '.' also matches line breaks, as the spec asks.
    return re.compile(_JAVA_NAMED_GROUP.sub("(?P<", pattern), re.DOTALL)


@functools.lru_cache(maxsize=256)
def _replacement(template: str) -> Callable[[re.Match[str]], str]:
    """A Java replacement string as a function of the match: ``$n`` and ``${name}`` insert a
    group (an unmatched group inserts nothing), a backslash takes the next character
    literally."""
    # ("text", literal) | ("number", digits) | ("name", group name)
    steps: list[tuple[str, str]] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            steps.append(("text", "".join(literal)))
            literal.clear()

    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "\\" and i + 1 < n:
            literal.append(template[i + 1])
            i += 2
            continue
        if ch == "$" and i + 1 < n and template[i + 1] == "{":
            end = template.find("}", i + 2)
            if end > 0:
                flush()
                steps.append(("name", template[i + 2 : end]))
                i = end + 1
                continue
        if ch == "$" and i + 1 < n and template[i + 1].isdigit():
            j = i + 1
            while j < n and template[j].isdigit():
                j += 1
            flush()
            steps.append(("number", template[i + 1 : j]))
            i = j
            continue
        literal.append(ch)
        i += 1
    flush()

    def expand(match: re.Match[str]) -> str:
        out = []
        for kind, text in steps:
            if kind == "text":
                out.append(text)
            elif kind == "name":
                out.append(match.group(text) or "")
            else:
                # As in Java, '$12' is group 12 only when the pattern has that many groups;
                # otherwise group 1 followed by the digit 2.
                k = len(text)
                while k > 1 and int(text[:k]) > match.re.groups:
                    k -= 1
                out.append((match.group(int(text[:k])) or "") + text[k:])
        return "".join(out)

    return expand


def _split_on(regex: re.Pattern[str], text: str) -> list[str]:
    """Split at each match; unlike ``re.split`` the pattern's groups are not kept."""
    parts: list[str] = []
    last = 0
    for m in regex.finditer(text):
        if m.end() == m.start():
            continue  # an empty match separates nothing
        parts.append(text[last : m.start()])
        last = m.end()
    parts.append(text[last:])
    return parts


# --- concatenation ---------------------------------------------------------------------------


@operator("Concatenate")
def _concatenate(*parts: str) -> str:
    return "".join(parts)


@node("Combine")
def _combine(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source = compiler.compile(elm["source"])
    separator = compiler.compile_optional(elm.get("separator"))

    def evaluate(ctx: Context) -> str | None:
        items = source(ctx)
        if not items:
            return None
        # Null elements are skipped, as aggregates skip them; nothing left is null, like an
        # empty source (and as cql-execution answers).
        strings = [s for s in items if s is not None]
        if not strings:
            return None
        return (separator(ctx) or "").join(strings)

    return evaluate


# --- splitting -------------------------------------------------------------------------------


def split(text: str | None, separator: str | None) -> list[str] | None:
    if text is None:
        return None
    if not separator:
        return [text]  # no separator (null or empty) to split at
    return text.split(separator)


@node("Split")
def _split(elm: ElmNode, compiler: Compiler) -> Evaluator:
    text = compiler.compile(elm["stringToSplit"])
    separator = compiler.compile_optional(elm.get("separator"))
    return lambda ctx: split(text(ctx), separator(ctx))


@node("SplitOnMatches")
def _split_on_matches(elm: ElmNode, compiler: Compiler) -> Evaluator:
    text = compiler.compile(elm["stringToSplit"])
    pattern = compiler.compile_optional(elm.get("separatorPattern"))

    def evaluate(ctx: Context) -> list[str] | None:
        s = text(ctx)
        if s is None:
            return None
        p = pattern(ctx)
        if p is None:
            return [s]
        return _split_on(_regex(p), s)

    return evaluate


# --- length and indexing (strings here, lists too) -----------------------------------------


def _list_length(x: list[Any] | None) -> int:
    return 0 if x is None else len(x)  # the length of a null list is 0


def _string_length(x: str | None) -> int | None:
    return None if x is None else len(x)


def _any_length(x: Any) -> int | None:
    if isinstance(x, list):
        return len(x)
    return None if x is None else len(x)


@operator_factory("Length", propagate_null=False)
def _length(elm: ElmNode) -> Fn:
    kind = first_operand_type(elm)
    if kind == "List":
        return _list_length
    if kind == "String":
        return _string_length
    return _any_length


def _index(x: str | list[Any], i: int) -> Any:
    # 0-based; negative or past-the-end indexes give null (no Python wrap-around).
    return x[i] if 0 <= i < len(x) else None


@operator("Indexer")
def _indexer(x: str | list[Any], i: int) -> Any:
    return _index(x, i)


@operator("Upper")
def _upper(s: str) -> str:
    return s.upper()


@operator("Lower")
def _lower(s: str) -> str:
    return s.lower()


# --- searching -------------------------------------------------------------------------------


def _compile_search(elm: ElmNode, compiler: Compiler,
                    find: Callable[[str, str], int]) -> Evaluator:
    """PositionOf and LastPositionOf: ``find(string, pattern)``, null if either is null."""
    pattern = compiler.compile(elm["pattern"])
    text = compiler.compile(elm["string"])

    def evaluate(ctx: Context) -> int | None:
        p = pattern(ctx)
        if p is None:
            return None
        s = text(ctx)
        return None if s is None else find(s, p)

    return evaluate


@node("PositionOf")
def _position_of(elm: ElmNode, compiler: Compiler) -> Evaluator:
    return _compile_search(elm, compiler, str.find)


@node("LastPositionOf")
def _last_position_of(elm: ElmNode, compiler: Compiler) -> Evaluator:
    return _compile_search(elm, compiler, str.rfind)


def substring(s: str, start: int, length: int | None = None) -> str | None:
    # The empty string has a substring at index 0 (the suite: Substring('', 0) = '').
    if start < 0 or start > len(s) or (start == len(s) and s):
        return None
    if length is None:
        return s[start:]
    return s[start : start + max(length, 0)]


@node("Substring")
def _substring(elm: ElmNode, compiler: Compiler) -> Evaluator:
    text = compiler.compile(elm["stringToSub"])
    start = compiler.compile(elm["startIndex"])
    length_node = elm.get("length")
    length = compiler.compile(length_node) if length_node is not None else None

    def evaluate(ctx: Context) -> str | None:
        s = text(ctx)
        if s is None:
            return None
        i = start(ctx)
        if i is None:
            return None
        if length is None:
            return substring(s, i)
        n = length(ctx)
        # A null length means 'to the end', as when it is absent.
        return substring(s, i, n)

    return evaluate


@operator("StartsWith")
def _starts_with(s: str, prefix: str) -> bool:
    return s.startswith(prefix)


@operator("EndsWith")
def _ends_with(s: str, suffix: str) -> bool:
    return s.endswith(suffix)


# --- regular expressions ---------------------------------------------------------------------


@operator("Matches")
def _matches(s: str, pattern: str) -> bool:
    # The whole string must match, as in both reference engines (Java's String.matches,
    # cql-execution's ^...$); CQL 2.0 keeps that meaning for MatchesFull.
    return _regex(pattern).fullmatch(s) is not None


@operator("ReplaceMatches")
def _replace_matches(s: str, pattern: str, substitution: str) -> str:
    return _regex(pattern).sub(_replacement(substitution), s)
