"""The CQL Retrieve: ``[MedicationStatement: "Antidepressants"]`` and friends.

The data provider returns the objects of the data type (it may narrow them with the filter
hints it is given); the engine always applies the code filter (by value set through the
terminology provider, or by code system + code) and the date filter itself, see
:mod:`engine.data`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ..datatypes import values
from ..datatypes.values import Code, Concept, Interval
from ..errors import CqlEvaluationError, ElmError
from ..fhir.model import split_type_name
from ..fhir.provider import codes_of, interval_of
from ..runtime.compiler import fault
from ..runtime.context import Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node
from ..terminology import ValueSet
from .structure import property_getter
from .terminology import terminology


def _code_test(ctx: Context, wanted: Any) -> Callable[[list[Code]], bool]:
    """Whether an item's codes match the retrieve's codes (built once per retrieve)."""
    if wanted is None:
        return lambda codes: False
    if isinstance(wanted, ValueSet):
        provider = terminology(ctx)
        return lambda codes: bool(codes) and provider.in_valueset(codes, wanted.id,
                                                                   wanted.version)
    want: set[tuple[str | None, str | None]] = set()
    stack = [wanted]
    while stack:
        w = stack.pop()
        if isinstance(w, Code):
            want.add((w.system, w.code))
        elif isinstance(w, Concept):
            want.update((c.system, c.code) for c in w.codes)
        elif isinstance(w, list):
            stack.extend(w)
        elif isinstance(w, str):
            want.add((None, w))
    # Code equivalence is by system and code; a bare string code matches any system.
    return lambda codes: any((c.system, c.code) in want or (None, c.code) in want
                             for c in codes)


def _overlaps(a: Interval, b: Interval) -> bool:
    """Whether two intervals may overlap; unknown comparisons count as overlapping (a
    retrieve filter must never drop what the query's own where clause would keep)."""
    if a.high is not None and b.low is not None:
        c = values.compare(a.high, b.low)
        if c is not None and (c < 0 or (c == 0 and not (a.high_closed and b.low_closed))):
            return False
    if a.low is not None and b.high is not None:
        c = values.compare(a.low, b.high)
        if c is not None and (c > 0 or (c == 0 and not (a.low_closed and b.high_closed))):
            return False
    return True


@node("Retrieve")
def compile_retrieve(elm: ElmNode, c: Compiler) -> Evaluator:
    _, data_type = split_type_name(elm["dataType"])
    template_id = elm.get("templateId")
    locator = elm.get("locator")
    for unsupported in ("include", "otherFilter"):
        if elm.get(unsupported):
            raise ElmError(f"Retrieve with {unsupported} is not supported", locator=locator)

    code_filters: list[tuple[str, Callable[[Any], Any], Evaluator]] = []
    if elm.get("codes") is not None:
        code_path = elm.get("codeProperty")
        if code_path is None:
            raise ElmError(f"Retrieve of {data_type} with codes but no codeProperty "
                           "(the model gives no primary code path)", locator=locator)
        code_filters.append((code_path, property_getter(code_path), c.compile(elm["codes"])))
    for cf in elm.get("codeFilter") or []:
        path = cf.get("property") or cf.get("valueSetProperty")
        if path is None or cf.get("value") is None:
            raise ElmError("Retrieve codeFilter without property or value", locator=locator)
        code_filters.append((path, property_getter(path), c.compile(cf["value"])))

    date_filters: list[tuple[str | None, Callable[[Any], Any], Evaluator]] = []
    if elm.get("dateRange") is not None:
        date_filters.append(_date_filter(elm.get("dateProperty"), elm.get("dateLowProperty"),
                                         elm.get("dateHighProperty"),
                                         c.compile(elm["dateRange"]), locator))
    for df in elm.get("dateFilter") or []:
        if df.get("value") is None:
            raise ElmError("Retrieve dateFilter without value", locator=locator)
        date_filters.append(_date_filter(df.get("property"), df.get("lowProperty"),
                                         df.get("highProperty"), c.compile(df["value"]),
                                         locator))

    first_code_path = code_filters[0][0] if code_filters else None
    first_date_path = date_filters[0][0] if date_filters else None

    def retrieve(ctx: Context) -> Any:
        try:
            provider = ctx.data
            if provider is None:
                raise CqlEvaluationError(f"no data provider to retrieve {data_type}")
            given = [codes(ctx) for _, _, codes in code_filters]
            wanted = [(get, _code_test(ctx, g))
                      for (_, get, _), g in zip(code_filters, given, strict=True)]
            ranges = [(get, rng(ctx)) for _, get, rng in date_filters]
            first = given[0] if given else None
            items = provider.retrieve(
                data_type,
                code_path=first_code_path,
                codes=None if first is None or isinstance(first, ValueSet)
                else codes_of(first),
                valueset=first.id if isinstance(first, ValueSet) else None,
                date_path=first_date_path,
                date_range=ranges[0][1] if ranges else None,
                template_id=template_id,
            )
            if not wanted and not ranges:
                return list(items)
            coded: list[tuple[list[_Coded], Callable[[list[Code]], bool], dict[Any, bool]]]
            coded = [(_codes_by_item(ctx, data_type, path, get, items), test, {})
                     for (path, get, _), (_, test) in zip(code_filters, wanted, strict=True)]
            out = []
            for position, item in enumerate(items):
                if any(not _matches(index[position], test, seen) for index, test, seen in coded):
                    continue
                if any(not _in_range(get(item), rng) for get, rng in ranges):
                    continue
                out.append(item)
            return out
        except Exception as e:
            fault(e, locator)
    return retrieve



_Coded = tuple[tuple[tuple[str | None, str | None, str | None], ...], list[Code]]


def _codes_by_item(ctx: Context, data_type: str, path: str, get: Callable[[Any], Any],
                   items: Any) -> list[_Coded]:
    """The codes at `path` of each retrieved item, read once per evaluation: every retrieve of
    a type filters the same resources, and reading codes from JSON is most of its cost. Each
    item's codes come with a plain-tuple key, so that items coded alike are tested once."""
    key = ("Retrieve codes", data_type, path)
    cached = ctx.indexes.get(key)
    if cached is not None and cached[0] is items:
        return cast("list[_Coded]", cached[1])
    index: list[_Coded] = []
    for item in items:
        codes = codes_of(get(item))
        index.append((tuple((c.code, c.system, c.version) for c in codes), codes))
    ctx.indexes[key] = (items, index)
    return index


def _matches(coded: _Coded, test: Callable[[list[Code]], bool], seen: dict[Any, bool]) -> bool:
    """`test` of an item's codes, remembered for this retrieve by the codes' key (the test
    reads only system, code and version)."""
    key, codes = coded
    found = seen.get(key)
    if found is None:
        found = seen[key] = test(codes)
    return found

def _date_filter(path: str | None, low: str | None, high: str | None, rng: Evaluator,
                 locator: str | None) -> tuple[str | None, Callable[[Any], Any], Evaluator]:
    if path is not None:
        return path, property_getter(path), rng
    if low is None and high is None:
        raise ElmError("Retrieve date filter without a date property", locator=locator)
    get_low = property_getter(low) if low else (lambda x: None)
    get_high = property_getter(high) if high else (lambda x: None)

    def bounds(item: Any) -> Any:
        lo = interval_of(get_low(item))
        hi = interval_of(get_high(item))
        if lo is None and hi is None:
            return None
        return Interval(lo.low if lo else None, hi.high if hi else None, True, True)
    return low or high, bounds, rng


def _in_range(value: Any, rng: Any) -> bool:
    if rng is None:
        return True
    iv = interval_of(value)
    if iv is None:
        return False
    if not isinstance(rng, Interval):
        raise CqlEvaluationError(f"Retrieve date range is not an interval: {rng!r}")
    return _overlaps(iv, rng)
